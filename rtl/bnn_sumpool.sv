// bnnfpga RTL library: sum-pool, the integer part of average pooling (SumPool in the IR; the
// 1/(KH*KW) is folded into the thresholds or the dense layer behind it). Each output element
// is the sum of the window's elements: bipolar (BITS = 1, IN_BIPOLAR: bit 1 = +1, 0 = -1),
// two's complement (SIGNED, also ternary levels) or unsigned; positions in the padding add 0.
// The sum is OUT_BITS wide (two's complement, or unsigned when no input is negative), wide
// enough for KH*KW elements, as the compiler proves.
//
// A sliding window generator (bnn_swg) with one pixel per chunk streams every window's
// KH x KW taps with their validity; the accumulator here adds them up. A global pool (one
// window over the whole unpadded input) needs no window generator: it adds up the pixels as
// they arrive. Cycles per frame: max(H * W, OH * OW * KH * KW), as bnn_maxpool.
module bnn_sumpool #(
    parameter int C = 4,            // channels
    parameter int BITS = 2,         // bits per input element
    parameter bit IN_BIPOLAR = 1'b0,  // inputs are bipolar (BITS = 1)
    parameter bit SIGNED = 1'b0,    // k-bit inputs are two's complement
    parameter int OUT_BITS = 4,     // bits per output element
    parameter int H = 4,            // input height
    parameter int W = 4,            // input width
    parameter int KH = 2,           // window height
    parameter int KW = 2,           // window width
    parameter int SH = 2,           // stride (rows)
    parameter int SW = 2,           // stride (columns)
    parameter int PT = 0,           // padding top
    parameter int PL = 0,           // padding left
    parameter int PB = 0,           // padding bottom
    parameter int PR = 0            // padding right
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [C*BITS-1:0]     s_axis_tdata,
    input  logic                  s_axis_tvalid,
    output logic                  s_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  logic                  m_axis_tready
);
    localparam int TAPS = KH * KW;
    localparam int TW = TAPS > 1 ? $clog2(TAPS) : 1;
    localparam bit GLOBAL = KH == H && KW == W && PT == 0 && PL == 0 && PB == 0 && PR == 0;

    /* verilator lint_off UNUSEDSIGNAL */  // the mask bit of every channel is the same: bit C*BITS is enough
    logic [C*BITS+C-1:0] tap_tdata;  // {mask, pixel}
    /* verilator lint_on UNUSEDSIGNAL */
    logic tap_tvalid, tap_tready;

    generate
        if (GLOBAL) begin : pixels
            // every pixel is a tap of the one window
            assign tap_tdata = {{C{1'b1}}, s_axis_tdata};
            assign tap_tvalid = s_axis_tvalid;
            assign s_axis_tready = tap_tready;
        end else begin : window
            bnn_swg #(.C(C), .BITS(BITS), .H(H), .W(W), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
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
    wire valid_tap = tap_tdata[C*BITS];

    logic [C*OUT_BITS-1:0] added;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic [BITS-1:0] raw;
            logic [OUT_BITS-1:0] value, start;
            raw = tap_tdata[c*BITS+:BITS];
            if (IN_BIPOLAR) value = raw[0] ? OUT_BITS'(1) : {OUT_BITS{1'b1}};  // +1 or -1
            else if (SIGNED) value = OUT_BITS'($signed(raw));
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
