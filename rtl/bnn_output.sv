`default_nettype none

// bnnfpga RTL library: output stage. Writes each input vector of VALUES elements as VALUES
// 32-bit AXI-Stream beats (value 0 first), each element extended to int32 (an int32
// accumulator as it is; a k-bit level sign- or zero-extended; a bipolar bit as +1 or -1),
// with TLAST on the last beat of every VECTORS-th vector: the end of a frame
// (docs/DESIGN.md 3.7); with frames_per_last = n > 1, only at the end of every n-th frame,
// so that one DMA transfer takes a batch of n frames (docs/DESIGN.md 4.2). 0 counts as 1.
module bnn_output #(
    // Elements per input vector (output beats per vector), >= 1
    parameter int VALUES = 10,
    // Vectors per frame (TLAST on the last beat of the last one), >= 1
    parameter int VECTORS = 1,
    // Bits per input element, 1 to 32 (32: int32 accumulators)
    parameter int IN_BITS = 32,
    // Input elements are two's complement (else unsigned)
    parameter bit IN_SIGNED = 1'b1,
    // Input elements are bipolar bits (1 = +1, 0 = -1); needs IN_BITS = 1
    parameter bit IN_BIPOLAR = 1'b0
) (
    input  wire                       clk,
    input  wire                       rst_n,
    // Frames per TLAST (a register the host writes before a batch; 0 and 1: every frame)
    input  wire  [31:0]               frames_per_last,
    input  wire  [VALUES*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [31:0]          m_axis_tdata,
    output logic                 m_axis_tvalid,
    output logic                 m_axis_tlast,
    input  wire                  m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (VALUES < 1) begin : g_check_values
            $error($sformatf("bnn_output: VALUES (%0d) must be >= 1", VALUES));
        end
        if (VECTORS < 1) begin : g_check_vectors
            $error($sformatf("bnn_output: VECTORS (%0d) must be >= 1", VECTORS));
        end
        if (IN_BITS < 1 || IN_BITS > 32) begin : g_check_in_bits
            $error($sformatf("bnn_output: IN_BITS (%0d) must be 1 to 32", IN_BITS));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_output: IN_BIPOLAR needs IN_BITS = 1, not %0d", IN_BITS));
        end
    endgenerate

    localparam int VW = VALUES > 1 ? $clog2(VALUES) : 1;
    localparam int FW = VECTORS > 1 ? $clog2(VECTORS) : 1;

    logic [VALUES*IN_BITS-1:0] vector;
    logic full;
    logic [VW-1:0] value;
    logic [FW-1:0] count;  // vectors of the frame already started
    logic [31:0] frames;   // frames of the batch already sent
    wire last_frame_of_batch = frames_per_last <= 32'd1 || frames == frames_per_last - 32'd1;

    wire last_value = (value == VW'(VALUES - 1));
    wire beat = full && m_axis_tready;
    // Take the next vector when empty, or as the last value of this one leaves.
    assign s_axis_tready = !full || (beat && last_value);
    assign m_axis_tvalid = full;
    wire [IN_BITS-1:0] element = vector[int'(value)*IN_BITS+:IN_BITS];
    always_comb begin
        if (IN_BIPOLAR) m_axis_tdata = element[0] ? 32'sd1 : -32'sd1;
        else if (IN_SIGNED) m_axis_tdata = 32'(signed'(element));
        else m_axis_tdata = 32'(element);
    end
    wire last_of_frame = last_value && (count == FW'(VECTORS - 1));
    assign m_axis_tlast = last_of_frame && last_frame_of_batch;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            full <= 1'b0;
            value <= '0;
            count <= '0;
            frames <= '0;
        end else begin
            if (beat) begin
                value <= last_value ? '0 : value + 1'b1;
                if (last_value) begin
                    full <= 1'b0;
                    count <= (count == FW'(VECTORS - 1)) ? '0 : count + 1'b1;
                    if (count == FW'(VECTORS - 1)) frames <= last_frame_of_batch ? '0 : frames + 32'd1;
                end
            end
            if (s_axis_tvalid && s_axis_tready) begin
                vector <= s_axis_tdata;
                full <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
