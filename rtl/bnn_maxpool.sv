`default_nettype none

// bnnfpga RTL library: max-pool (docs/DESIGN.md 3.6). Max of bipolar values (IN_BITS = 1) is the OR
// of their bits; a channel marked in MIN_CHANNELS (behind a flipped threshold) takes the
// min, the AND. k-bit levels (IN_BITS > 1, IN_SIGNED two's complement or unsigned) take the max,
// or the min. Positions in the padding do not take part.
//
// A sliding window generator (bnn_swg) with one pixel per chunk streams every window's
// KH x KW taps with their validity; the reducer here folds them into one output pixel.
// Cycles per frame: max(H * W, OH * OW * KH * KW).
module bnn_maxpool #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 4,
    // Bits per element (input and output), >= 1; 1: bipolar (bit 1 = +1) or unsigned
    parameter int IN_BITS = 1,
    // k-bit elements are two's complement (else unsigned); 0 when IN_BITS = 1
    parameter bit IN_SIGNED = 1'b0,
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
    parameter int PR = 0,
    // $readmemh: one word of C bits, bit c set: channel c is a min-pool
    parameter MIN_FILE = ""
) (
    input  wire                  clk,
    input  wire                  rst_n,
    input  wire  [C*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [C*IN_BITS-1:0] m_axis_tdata,
    output logic                 m_axis_tvalid,
    input  wire                  m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_maxpool: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (IN_BITS == 1 && IN_SIGNED) begin : g_check_signed_bit
            $error("bnn_maxpool: IN_BITS = 1 elements are bipolar or unsigned (OR/AND), IN_SIGNED must be 0");
        end
        if (C < 1 || H < 1 || W < 1) begin : g_check_shape
            $error($sformatf("bnn_maxpool: C (%0d), H (%0d) and W (%0d) must be >= 1", C, H, W));
        end
        if (KH < 1 || KW < 1) begin : g_check_kernel
            $error($sformatf("bnn_maxpool: KH (%0d) and KW (%0d) must be >= 1", KH, KW));
        end
        if (SH < 1 || SW < 1) begin : g_check_stride
            $error($sformatf("bnn_maxpool: SH (%0d) and SW (%0d) must be >= 1", SH, SW));
        end
        if (PT < 0 || PB < 0 || PT >= KH || PB >= KH) begin : g_check_pad_rows
            $error($sformatf("bnn_maxpool: PT (%0d) and PB (%0d) must be 0 to KH - 1 (KH = %0d)", PT, PB, KH));
        end
        if (PL < 0 || PR < 0 || PL >= KW || PR >= KW) begin : g_check_pad_columns
            $error($sformatf("bnn_maxpool: PL (%0d) and PR (%0d) must be 0 to KW - 1 (KW = %0d)", PL, PR, KW));
        end
        if (KH > H + PT + PB || KW > W + PL + PR) begin : g_check_window_fits
            $error($sformatf("bnn_maxpool: the KH x KW (%0d x %0d) window must fit the padded H x W input (%0d x %0d)",
                             KH, KW, H + PT + PB, W + PL + PR));
        end
    endgenerate

    localparam int TAPS = KH * KW;
    localparam int TW = TAPS > 1 ? $clog2(TAPS) : 1;

    logic [C-1:0] use_min[1];
    initial $readmemh(MIN_FILE, use_min);

    /* verilator lint_off UNUSEDSIGNAL */  // the mask bit of every channel is the same: bit C*IN_BITS is enough
    logic [C*IN_BITS+C-1:0] tap_tdata;  // {mask, pixel}
    /* verilator lint_on UNUSEDSIGNAL */
    logic tap_tvalid, tap_tready;

    bnn_swg #(.C(C), .IN_BITS(IN_BITS), .H(H), .W(W), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
              .PT(PT), .PL(PL), .PB(PB), .PR(PR), .SIMD(C)) tap_window (
        .clk, .rst_n, .s_axis_tdata, .s_axis_tvalid, .s_axis_tready,
        .m_axis_tdata(tap_tdata), .m_axis_tvalid(tap_tvalid), .m_axis_tready(tap_tready));

    logic [TW-1:0] tap;
    logic [C*IN_BITS-1:0] folded;  // max (min) of the valid taps so far
    logic seen;                 // some tap of the window so far was valid

    wire last_tap = (tap == TW'(TAPS - 1));
    // The last tap needs the output register: free, or draining this cycle.
    assign tap_tready = !last_tap || !m_axis_tvalid || m_axis_tready;
    wire valid_tap = tap_tdata[C*IN_BITS];

    logic [C*IN_BITS-1:0] combined;
    generate
        if (IN_BITS == 1) begin : bipolar
            // A padded tap reads as the identity: 0 for OR, 1 for AND.
            wire [C-1:0] value = valid_tap ? tap_tdata[C-1:0] : use_min[0];
            wire [C-1:0] start = tap == '0 ? use_min[0] : folded;
            assign combined = (use_min[0] & start & value) | (~use_min[0] & (start | value));
        end else begin : levels
            // A padded tap is skipped; the first valid tap starts the window.
            always_comb begin
                for (int c = 0; c < C; c++) begin
                    logic [IN_BITS-1:0] a, b;
                    logic b_larger;
                    a = folded[c*IN_BITS+:IN_BITS];
                    b = tap_tdata[c*IN_BITS+:IN_BITS];
                    b_larger = IN_SIGNED ? $signed(b) > $signed(a) : b > a;
                    if (!valid_tap) combined[c*IN_BITS+:IN_BITS] = a;
                    else if (tap == '0 || !seen) combined[c*IN_BITS+:IN_BITS] = b;
                    else combined[c*IN_BITS+:IN_BITS] = (b_larger ^ use_min[0][c]) ? b : a;
                end
            end
        end
    endgenerate

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            tap <= '0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (tap_tvalid && tap_tready) begin
                folded <= combined;
                seen <= (tap != '0 && seen) || valid_tap;
                if (last_tap) begin
                    tap <= '0;
                    m_axis_tdata <= combined;
                    m_axis_tvalid <= 1'b1;
                end else begin
                    tap <= tap + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
