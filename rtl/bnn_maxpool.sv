// bnnfpga RTL library: max-pool (DESIGN.md 3.6). Max of bipolar values (BITS = 1) is the OR
// of their bits; a channel marked in MIN_CHANNELS (behind a flipped threshold) takes the
// min, the AND. k-bit levels (BITS > 1, SIGNED two's complement or unsigned) take the max,
// or the min. Positions in the padding do not take part.
//
// A sliding window generator (bnn_swg) with one pixel per chunk streams every window's
// KH x KW taps with their validity; the reducer here folds them into one output pixel.
// Cycles per frame: max(H * W, OH * OW * KH * KW).
module bnn_maxpool #(
    parameter int C = 4,      // channels
    parameter int BITS = 1,   // bits per element (1: bipolar)
    parameter bit SIGNED = 1'b0,  // k-bit elements are two's complement
    parameter int H = 4,      // input height
    parameter int W = 4,      // input width
    parameter int KH = 2,     // window height
    parameter int KW = 2,     // window width
    parameter int SH = 2,     // stride (rows)
    parameter int SW = 2,     // stride (columns)
    parameter int PT = 0,     // padding top
    parameter int PL = 0,     // padding left
    parameter int PB = 0,     // padding bottom
    parameter int PR = 0,     // padding right
    parameter MIN_FILE = ""   // $readmemh: one word of C bits, bit c set: channel c is a min-pool
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [C*BITS-1:0] s_axis_tdata,
    input  logic         s_axis_tvalid,
    output logic         s_axis_tready,
    output logic [C*BITS-1:0] m_axis_tdata,
    output logic         m_axis_tvalid,
    input  logic         m_axis_tready
);
    localparam int TAPS = KH * KW;
    localparam int TW = TAPS > 1 ? $clog2(TAPS) : 1;

    logic [C-1:0] use_min[1];
    initial $readmemh(MIN_FILE, use_min);

    /* verilator lint_off UNUSEDSIGNAL */  // the mask bit of every channel is the same: bit C*BITS is enough
    logic [C*BITS+C-1:0] tap_tdata;  // {mask, pixel}
    /* verilator lint_on UNUSEDSIGNAL */
    logic tap_tvalid, tap_tready;

    bnn_swg #(.C(C), .BITS(BITS), .H(H), .W(W), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
              .PT(PT), .PL(PL), .PB(PB), .PR(PR), .SIMD(C)) tap_window (
        .clk, .rst_n, .s_axis_tdata, .s_axis_tvalid, .s_axis_tready,
        .m_axis_tdata(tap_tdata), .m_axis_tvalid(tap_tvalid), .m_axis_tready(tap_tready));

    logic [TW-1:0] tap;
    logic [C*BITS-1:0] folded;  // max (min) of the valid taps so far
    logic seen;                 // some tap of the window so far was valid

    wire last_tap = (tap == TW'(TAPS - 1));
    // The last tap needs the output register: free, or draining this cycle.
    assign tap_tready = !last_tap || !m_axis_tvalid || m_axis_tready;
    wire valid_tap = tap_tdata[C*BITS];

    logic [C*BITS-1:0] combined;
    generate
        if (BITS == 1) begin : bipolar
            // A padded tap reads as the identity: 0 for OR, 1 for AND.
            wire [C-1:0] value = valid_tap ? tap_tdata[C-1:0] : use_min[0];
            wire [C-1:0] start = tap == '0 ? use_min[0] : folded;
            assign combined = (use_min[0] & start & value) | (~use_min[0] & (start | value));
        end else begin : levels
            // A padded tap is skipped; the first valid tap starts the window.
            always_comb begin
                for (int c = 0; c < C; c++) begin
                    logic [BITS-1:0] a, b;
                    logic b_larger;
                    a = folded[c*BITS+:BITS];
                    b = tap_tdata[c*BITS+:BITS];
                    b_larger = SIGNED ? $signed(b) > $signed(a) : b > a;
                    if (!valid_tap) combined[c*BITS+:BITS] = a;
                    else if (tap == '0 || !seen) combined[c*BITS+:BITS] = b;
                    else combined[c*BITS+:BITS] = (b_larger ^ use_min[0][c]) ? b : a;
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
