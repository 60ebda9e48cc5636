`default_nettype none

// bnnfpga RTL library: AXI-Stream FIFO (valid/ready on both sides), DEPTH words of WIDTH bits.
// Decouples engines whose rates differ within a frame; never drops or duplicates a word.
module bnn_axis_fifo #(
    // Data bits per word, >= 1
    parameter int WIDTH = 8,
    // Words the FIFO holds, a power of two >= 2
    parameter int DEPTH = 4
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire  [WIDTH-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output logic             s_axis_tready,
    output logic [WIDTH-1:0] m_axis_tdata,
    output logic             m_axis_tvalid,
    input  wire              m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (WIDTH < 1) begin : g_check_width
            $error($sformatf("bnn_axis_fifo: WIDTH (%0d) must be >= 1", WIDTH));
        end
        if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0) begin : g_check_depth
            $error($sformatf("bnn_axis_fifo: DEPTH (%0d) must be a power of two >= 2", DEPTH));
        end
    endgenerate

    localparam int AW = $clog2(DEPTH);
    logic [WIDTH-1:0] mem[DEPTH];
    logic [AW:0] wr, rd;  // one extra bit tells full from empty

    wire empty = wr == rd;
    wire full = (wr[AW-1:0] == rd[AW-1:0]) && (wr[AW] != rd[AW]);
    assign s_axis_tready = !full;
    assign m_axis_tvalid = !empty;
    assign m_axis_tdata = mem[rd[AW-1:0]];

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wr <= '0;
            rd <= '0;
        end else begin
            if (s_axis_tvalid && !full) begin
                mem[wr[AW-1:0]] <= s_axis_tdata;
                wr <= wr + 1'b1;
            end
            if (m_axis_tready && !empty) rd <= rd + 1'b1;
        end
    end
endmodule

`default_nettype wire
