`default_nettype none

// bnnfpga RTL library: sum-pool, the integer part of average pooling (SumPool in the IR; the
// 1/(KH*KW) is folded into the thresholds or the dense layer behind it). Each output element
// is the sum of the window's elements: bipolar (IN_BITS = 1, IN_BIPOLAR: bit 1 = +1, 0 = -1),
// two's complement (IN_SIGNED, also ternary levels) or unsigned; positions in the padding add 0.
// The sum is OUT_BITS wide (two's complement, or unsigned when no input is negative), wide
// enough for KH*KW elements, as the compiler proves.
//
// A sliding window generator (bnn_swg) with one pixel per chunk streams every window's
// KH x KW taps with their validity; the accumulator here adds them up. A global pool (one
// window over the whole unpadded input) needs no window generator: it adds up the pixels as
// they arrive. Cycles per frame: max(H * W, OH * OW * KH * KW), as bnn_maxpool.
module bnn_sumpool #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 4,
    // Bits per input element: 1 with IN_BIPOLAR, else >= 1
    parameter int IN_BITS = 2,
    // Inputs are bipolar: IN_BITS = 1, bit 1 = +1, bit 0 = -1
    parameter bit IN_BIPOLAR = 1'b0,
    // k-bit inputs are two's complement (also ternary levels), else unsigned
    parameter bit IN_SIGNED = 1'b0,
    // Bits per output element (the sum of KH*KW elements, as the compiler proves), >= 1
    parameter int OUT_BITS = 4,
    // Input height in pixels, >= 1
    parameter int H = 4,
    // Input width in pixels, >= 1
    parameter int W = 4,
    // Window (kernel) height in pixels, 1 to H + PT + PB
    parameter int KH = 2,
    // Window (kernel) width in pixels, 1 to W + PL + PR
    parameter int KW = 2,
    // Stride between windows in rows, >= 1
    parameter int SH = 2,
    // Stride between windows in columns, >= 1
    parameter int SW = 2,
    // Zero padding rows at the top, 0 to KH - 1
    parameter int PT = 0,
    // Zero padding columns at the left, 0 to KW - 1
    parameter int PL = 0,
    // Zero padding rows at the bottom, 0 to KH - 1
    parameter int PB = 0,
    // Zero padding columns at the right, 0 to KW - 1
    parameter int PR = 0
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
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_sumpool: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_sumpool: IN_BIPOLAR inputs are 1 bit, IN_BITS (%0d) must be 1", IN_BITS));
        end
        if (OUT_BITS < 1) begin : g_check_out_bits
            $error($sformatf("bnn_sumpool: OUT_BITS (%0d) must be >= 1", OUT_BITS));
        end
        if (C < 1 || H < 1 || W < 1) begin : g_check_shape
            $error($sformatf("bnn_sumpool: C (%0d), H (%0d) and W (%0d) must be >= 1", C, H, W));
        end
        if (KH < 1 || KW < 1) begin : g_check_kernel
            $error($sformatf("bnn_sumpool: KH (%0d) and KW (%0d) must be >= 1", KH, KW));
        end
        if (SH < 1 || SW < 1) begin : g_check_stride
            $error($sformatf("bnn_sumpool: SH (%0d) and SW (%0d) must be >= 1", SH, SW));
        end
        if (PT < 0 || PB < 0 || PT >= KH || PB >= KH) begin : g_check_pad_rows
            $error($sformatf("bnn_sumpool: PT (%0d) and PB (%0d) must be 0 to KH - 1 (KH = %0d)", PT, PB, KH));
        end
        if (PL < 0 || PR < 0 || PL >= KW || PR >= KW) begin : g_check_pad_columns
            $error($sformatf("bnn_sumpool: PL (%0d) and PR (%0d) must be 0 to KW - 1 (KW = %0d)", PL, PR, KW));
        end
        if (KH > H + PT + PB || KW > W + PL + PR) begin : g_check_window_fits
            $error($sformatf("bnn_sumpool: the KH x KW (%0d x %0d) window must fit the padded H x W input (%0d x %0d)",
                             KH, KW, H + PT + PB, W + PL + PR));
        end
    endgenerate

    localparam int TAPS = KH * KW;
    localparam int TW = TAPS > 1 ? $clog2(TAPS) : 1;
    localparam bit GLOBAL = KH == H && KW == W && PT == 0 && PL == 0 && PB == 0 && PR == 0;

    /* verilator lint_off UNUSEDSIGNAL */  // the mask bit of every channel is the same: bit C*IN_BITS is enough
    logic [C*IN_BITS+C-1:0] tap_tdata;  // {mask, pixel}
    /* verilator lint_on UNUSEDSIGNAL */
    logic tap_tvalid, tap_tready;

    generate
        if (GLOBAL) begin : pixels
            // every pixel is a tap of the one window
            assign tap_tdata = {{C{1'b1}}, s_axis_tdata};
            assign tap_tvalid = s_axis_tvalid;
            assign s_axis_tready = tap_tready;
        end else begin : window
            bnn_swg #(.C(C), .IN_BITS(IN_BITS), .H(H), .W(W), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
                      .PT(PT), .PL(PL), .PB(PB), .PR(PR), .SIMD(C)) tap_window (
                .clk, .rst_n, .s_axis_tdata, .s_axis_tvalid, .s_axis_tready,
                .m_axis_tdata(tap_tdata), .m_axis_tvalid(tap_tvalid), .m_axis_tready(tap_tready));
        end
    endgenerate

    logic [TW-1:0] tap;
    logic [C*OUT_BITS-1:0] sums;  // the window's sums so far

    wire last_tap = (tap == TW'(TAPS - 1));
    // The last tap needs the output register: free, or draining this cycle.
    assign tap_tready = !last_tap || !m_axis_tvalid || m_axis_tready;
    wire valid_tap = tap_tdata[C*IN_BITS];

    logic [C*OUT_BITS-1:0] added;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic [IN_BITS-1:0] raw;
            logic [OUT_BITS-1:0] value, start;
            raw = tap_tdata[c*IN_BITS+:IN_BITS];
            if (IN_BIPOLAR) value = raw[0] ? OUT_BITS'(1) : {OUT_BITS{1'b1}};  // +1 or -1
            else if (IN_SIGNED) value = OUT_BITS'($signed(raw));
            else value = OUT_BITS'(raw);
            start = tap == '0 ? '0 : sums[c*OUT_BITS+:OUT_BITS];
            added[c*OUT_BITS+:OUT_BITS] = start + (valid_tap ? value : '0);
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            tap <= '0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (tap_tvalid && tap_tready) begin
                sums <= added;
                if (last_tap) begin
                    tap <= '0;
                    m_axis_tdata <= added;
                    m_axis_tvalid <= 1'b1;
                end else begin
                    tap <= tap + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
