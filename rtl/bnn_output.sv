// bnnfpga RTL library: output stage. Writes each input vector of VALUES int32 accumulators as
// VALUES 32-bit AXI-Stream beats (value 0 first), with TLAST on the last beat of every
// VECTORS-th vector: the end of a frame (DESIGN.md 3.7).
module bnn_output #(
    parameter int VALUES = 10,   // accumulators per vector
    parameter int VECTORS = 1    // vectors per frame
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic [VALUES*32-1:0] s_axis_tdata,
    input  logic                 s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [31:0]          m_axis_tdata,
    output logic                 m_axis_tvalid,
    output logic                 m_axis_tlast,
    input  logic                 m_axis_tready
);
    localparam int VW = VALUES > 1 ? $clog2(VALUES) : 1;
    localparam int FW = VECTORS > 1 ? $clog2(VECTORS) : 1;

    logic [VALUES*32-1:0] vector;
    logic full;
    logic [VW-1:0] value;
    logic [FW-1:0] count;  // vectors of the frame already started

    wire last_value = (value == VW'(VALUES - 1));
    wire beat = full && m_axis_tready;
    // Take the next vector when empty, or as the last value of this one leaves.
    assign s_axis_tready = !full || (beat && last_value);
    assign m_axis_tvalid = full;
    assign m_axis_tdata = vector[int'(value)*32+:32];
    assign m_axis_tlast = last_value && (count == FW'(VECTORS - 1));

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            full <= 1'b0;
            value <= '0;
            count <= '0;
        end else begin
            if (beat) begin
                value <= last_value ? '0 : value + 1'b1;
                if (last_value) begin
                    full <= 1'b0;
                    count <= (count == FW'(VECTORS - 1)) ? '0 : count + 1'b1;
                end
            end
            if (s_axis_tvalid && s_axis_tready) begin
                vector <= s_axis_tdata;
                full <= 1'b1;
            end
        end
    end
endmodule
