`default_nettype none

// bnnfpga RTL library: AXI-Stream fork, one stream to two (docs/DESIGN.md 3.15): every beat
// goes to both outputs once, each output at its own pace. A beat leaves s_axis when both
// outputs have taken it; an output that took it early waits (its tvalid low) for the other.
module bnn_fork #(
    // Data bits per beat, >= 1
    parameter int WIDTH = 8
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire  [WIDTH-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output logic             s_axis_tready,
    output logic [WIDTH-1:0] m0_axis_tdata,
    output logic             m0_axis_tvalid,
    input  wire              m0_axis_tready,
    output logic [WIDTH-1:0] m1_axis_tdata,
    output logic             m1_axis_tvalid,
    input  wire              m1_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (WIDTH < 1) begin : g_check_width
            $error($sformatf("bnn_fork: WIDTH (%0d) must be >= 1", WIDTH));
        end
    endgenerate

    logic taken0, taken1;  // this output already has the current beat

    assign m0_axis_tdata = s_axis_tdata;
    assign m1_axis_tdata = s_axis_tdata;
    assign m0_axis_tvalid = s_axis_tvalid && !taken0;
    assign m1_axis_tvalid = s_axis_tvalid && !taken1;
    assign s_axis_tready = (taken0 || m0_axis_tready) && (taken1 || m1_axis_tready);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            taken0 <= 1'b0;
            taken1 <= 1'b0;
        end else if (s_axis_tvalid && s_axis_tready) begin
            taken0 <= 1'b0;
            taken1 <= 1'b0;
        end else begin
            if (m0_axis_tvalid && m0_axis_tready) taken0 <= 1'b1;
            if (m1_axis_tvalid && m1_axis_tready) taken1 <= 1'b1;
        end
    end
endmodule

`default_nettype wire
