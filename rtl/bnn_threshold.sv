// bnnfpga RTL library: per-channel thresholds on integer (or bipolar) pixels, binarising or
// quantizing e.g. the raw input image: element c of the output pixel is OUT_BITS bits of
// BASE + (number of channel c's LEVELS thresholds with x_c >= threshold); with one threshold
// a channel may instead be a constant (DESIGN.md 3.3). One pixel per cycle.
module bnn_threshold #(
    parameter int C = 3,                // channels per pixel
    parameter int IN_BITS = 8,          // input element width
    parameter bit IN_BIPOLAR = 1'b0,    // inputs are bipolar (bit 1 = +1, bit 0 = -1)
    parameter bit IN_SIGNED = 1'b0,     // integer inputs are two's complement
    parameter int T_W = 10,             // threshold width
    parameter int LEVELS = 1,           // thresholds per channel
    parameter int OUT_BITS = 1,         // bits per output element
    parameter int BASE = 0,             // output value when no threshold is reached
    parameter THRESHOLDS_FILE = "",     // $readmemh: C*LEVELS thresholds of T_W bits, channel c's at [c*LEVELS +: LEVELS]
    parameter CONSTANTS_FILE = ""       // $readmemh: C 2-bit codes: 0 threshold, 1 constant +1, 3 constant -1
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic [C*IN_BITS-1:0] s_axis_tdata,
    input  logic                 s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                 m_axis_tvalid,
    input  logic                 m_axis_tready
);
    localparam int WIDE = (IN_BITS > T_W ? IN_BITS : T_W) + 2;

    logic signed [T_W-1:0] thresholds[C*LEVELS];
    logic [1:0] constants[C];
    initial begin
        $readmemh(THRESHOLDS_FILE, thresholds);
        $readmemh(CONSTANTS_FILE, constants);
    end

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    logic [C*OUT_BITS-1:0] bits;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic signed [WIDE-1:0] x;
            logic [OUT_BITS-1:0] count;
            if (IN_BIPOLAR) x = s_axis_tdata[c*IN_BITS] ? WIDE'(1) : -WIDE'(1);
            else if (IN_SIGNED) x = WIDE'($signed(s_axis_tdata[c*IN_BITS+:IN_BITS]));
            else x = WIDE'($signed({1'b0, s_axis_tdata[c*IN_BITS+:IN_BITS]}));
            count = OUT_BITS'(BASE);
            for (int j = 0; j < LEVELS; j++) count += OUT_BITS'(x >= WIDE'(thresholds[c*LEVELS+j]));
            if (LEVELS == 1 && constants[c] == 2'd1) count = OUT_BITS'(BASE + 1);
            if (LEVELS == 1 && constants[c] == 2'd3) count = OUT_BITS'(BASE);
            bits[c*OUT_BITS+:OUT_BITS] = count;
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                m_axis_tdata <= bits;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule
