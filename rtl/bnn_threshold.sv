// bnnfpga RTL library: per-channel thresholds on integer (or bipolar) pixels, binarising
// e.g. the raw input image: bit c of the output pixel is 1 when x_c >= threshold[c], or the
// channel's constant (DESIGN.md 3.3). One pixel per cycle.
module bnn_threshold #(
    parameter int C = 3,                // channels per pixel
    parameter int IN_BITS = 8,          // input element width
    parameter bit IN_BIPOLAR = 1'b0,    // inputs are bipolar (bit 1 = +1, bit 0 = -1)
    parameter bit IN_SIGNED = 1'b0,     // integer inputs are two's complement
    parameter int T_W = 10,             // threshold width
    parameter THRESHOLDS_FILE = "",     // $readmemh: C thresholds of T_W bits
    parameter CONSTANTS_FILE = ""       // $readmemh: C 2-bit codes: 0 threshold, 1 constant +1, 3 constant -1
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic [C*IN_BITS-1:0] s_axis_tdata,
    input  logic                 s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [C-1:0]         m_axis_tdata,
    output logic                 m_axis_tvalid,
    input  logic                 m_axis_tready
);
    localparam int WIDE = (IN_BITS > T_W ? IN_BITS : T_W) + 2;

    logic signed [T_W-1:0] thresholds[C];
    logic [1:0] constants[C];
    initial begin
        $readmemh(THRESHOLDS_FILE, thresholds);
        $readmemh(CONSTANTS_FILE, constants);
    end

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    logic [C-1:0] bits;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic signed [WIDE-1:0] x;
            if (IN_BIPOLAR) x = s_axis_tdata[c*IN_BITS] ? WIDE'(1) : -WIDE'(1);
            else if (IN_SIGNED) x = WIDE'($signed(s_axis_tdata[c*IN_BITS+:IN_BITS]));
            else x = WIDE'($signed({1'b0, s_axis_tdata[c*IN_BITS+:IN_BITS]}));
            bits[c] = constants[c] == 2'd1 ? 1'b1 : constants[c] == 2'd3 ? 1'b0 : x >= WIDE'(thresholds[c]);
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
