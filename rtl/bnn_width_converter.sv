`default_nettype none

// bnnfpga RTL library: AXI-Stream width converter. Re-cuts a stream of IN_W-bit words into
// OUT_W-bit words, least significant bits first, for any ratio of the widths (a flattened
// feature map's pixels become the chunks of the dense layer's input vector). The bit
// stream's length per frame must be a multiple of OUT_W; words never straddle frames then.
// Moves min(IN_W, OUT_W) bits per cycle or more.
module bnn_width_converter #(
    // Input word width in bits, >= 1
    parameter int IN_W = 8,
    // Output word width in bits, >= 1
    parameter int OUT_W = 12
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire  [IN_W-1:0]  s_axis_tdata,
    input  wire              s_axis_tvalid,
    output logic             s_axis_tready,
    output logic [OUT_W-1:0] m_axis_tdata,
    output logic             m_axis_tvalid,
    input  wire              m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (IN_W < 1 || OUT_W < 1) begin : g_check_widths
            $error($sformatf("bnn_width_converter: IN_W (%0d) and OUT_W (%0d) must be >= 1", IN_W, OUT_W));
        end
    endgenerate

    localparam int CAP = IN_W + OUT_W;        // bits the buffer holds
    localparam int CW = $clog2(CAP + 1);

    logic [CAP-1:0] buffer;  // bits [0, count) are valid, oldest at bit 0
    logic [CW-1:0] count;

    wire take = m_axis_tvalid && m_axis_tready;
    wire [CW-1:0] kept = take ? count - CW'(OUT_W) : count;  // bits left after this cycle's output
    assign m_axis_tvalid = count >= CW'(OUT_W);
    assign m_axis_tdata = buffer[OUT_W-1:0];
    assign s_axis_tready = kept <= CW'(CAP - IN_W);

    logic [CAP-1:0] shifted, next;
    always_comb begin
        shifted = take ? buffer >> OUT_W : buffer;
        next = shifted;
        if (s_axis_tvalid && s_axis_tready) next[int'(kept)+:IN_W] = s_axis_tdata;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            count <= '0;
        end else begin
            buffer <= next;
            count <= kept + ((s_axis_tvalid && s_axis_tready) ? CW'(IN_W) : '0);
        end
    end
endmodule

`default_nettype wire
