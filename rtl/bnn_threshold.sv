`default_nettype none

// bnnfpga RTL library: per-channel thresholds on integer (or bipolar) pixels, binarising or
// quantizing e.g. the raw input image: element c of the output pixel is OUT_BITS bits of
// BASE + (number of channel c's LEVELS thresholds with x_c >= threshold); with one threshold
// a channel may instead be a constant (docs/DESIGN.md 3.3). One pixel per cycle.
module bnn_threshold #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 3,
    // Bits per input element: 1 with IN_BIPOLAR, else >= 1
    parameter int IN_BITS = 8,
    // Inputs are bipolar: IN_BITS = 1, bit 1 = +1, bit 0 = -1
    parameter bit IN_BIPOLAR = 1'b0,
    // Integer inputs are two's complement (else unsigned)
    parameter bit IN_SIGNED = 1'b0,
    // Threshold width in bits, >= 1
    parameter int T_W = 10,
    // Thresholds per channel, >= 1
    parameter int LEVELS = 1,
    // Bits per output element, >= 1
    parameter int OUT_BITS = 1,
    // Output value when no threshold is reached
    parameter int BASE = 0,
    // $readmemh: C*LEVELS thresholds of T_W bits, channel c's at [c*LEVELS +: LEVELS]
    parameter THRESHOLDS_FILE = "",
    // $readmemh: C 2-bit codes: 0 threshold, 1 constant +1, 3 constant -1
    parameter CONSTANTS_FILE = ""
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire  [C*IN_BITS-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output logic                  s_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  wire                   m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (C < 1) begin : g_check_c
            $error($sformatf("bnn_threshold: C (%0d) must be >= 1", C));
        end
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_threshold: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_threshold: IN_BIPOLAR inputs are 1 bit, IN_BITS (%0d) must be 1", IN_BITS));
        end
        if (T_W < 1) begin : g_check_t_w
            $error($sformatf("bnn_threshold: T_W (%0d) must be >= 1", T_W));
        end
        if (LEVELS < 1) begin : g_check_levels
            $error($sformatf("bnn_threshold: LEVELS (%0d) must be >= 1", LEVELS));
        end
        if (OUT_BITS < 1) begin : g_check_out_bits
            $error($sformatf("bnn_threshold: OUT_BITS (%0d) must be >= 1", OUT_BITS));
        end
    endgenerate

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

`default_nettype wire
