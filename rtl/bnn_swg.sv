`default_nettype none

// bnnfpga RTL library: sliding window generator (im2col on a stream), docs/DESIGN.md 3.5.
//
// Reads frames of H x W pixels (C elements of IN_BITS bits, channel c at [c*IN_BITS +: IN_BITS]) and
// streams, for every output position in raster order, the KH x KW x C window in the order
// (kh, kw, c) as chunks {mask, data} of SIMD elements; elements in the zero padding have
// data 0 and mask 0.
//
// Line-buffer design: the padded image (the padding is generated here, not read) shifts
// pixel by pixel through a KH x KW register window, whose rows are joined by KH-1 line
// buffers of WP - KW pixels (one RAM, KH-1 pixels wide, a read and a write per shift). When
// a shift completes a window at an output position, the window is copied into the emit
// register and sent as KH*KW*C/SIMD chunks while the next pixels shift in; a shift that
// completes the next window waits until the emit register is free.
// Cycles per frame: HP*WP shifts plus those waits (bnnfpga/hw/engines.py window_cycles).
module bnn_swg #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 2,
    // Bits per element (input and output), >= 1
    parameter int IN_BITS = 1,
    // Input height in pixels, >= 1
    parameter int H = 5,
    // Input width in pixels, >= 1
    parameter int W = 5,
    // Window (kernel) height in pixels, 1 to H + PT + PB
    parameter int KH = 3,
    // Window (kernel) width in pixels, 1 to W + PL + PR
    parameter int KW = 3,
    // Stride between windows in rows, >= 1
    parameter int SH = 1,
    // Stride between windows in columns, >= 1
    parameter int SW = 1,
    // Zero padding rows at the top, 0 to KH - 1
    parameter int PT = 0,
    // Zero padding columns at the left, 0 to KW - 1
    parameter int PL = 0,
    // Zero padding rows at the bottom, 0 to KH - 1
    parameter int PB = 0,
    // Zero padding columns at the right, 0 to KW - 1
    parameter int PR = 0,
    // Elements per output chunk; divides KH*KW*C
    parameter int SIMD = 2
) (
    input  wire                           clk,
    input  wire                           rst_n,
    input  wire  [C*IN_BITS-1:0]          s_axis_tdata,
    input  wire                           s_axis_tvalid,
    output logic                          s_axis_tready,
    output logic [SIMD*IN_BITS+SIMD-1:0]  m_axis_tdata,
    output logic                          m_axis_tvalid,
    input  wire                           m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_swg: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (C < 1 || H < 1 || W < 1) begin : g_check_shape
            $error($sformatf("bnn_swg: C (%0d), H (%0d) and W (%0d) must be >= 1", C, H, W));
        end
        if (KH < 1 || KW < 1) begin : g_check_kernel
            $error($sformatf("bnn_swg: KH (%0d) and KW (%0d) must be >= 1", KH, KW));
        end
        if (SH < 1 || SW < 1) begin : g_check_stride
            $error($sformatf("bnn_swg: SH (%0d) and SW (%0d) must be >= 1", SH, SW));
        end
        if (PT < 0 || PB < 0 || PT >= KH || PB >= KH) begin : g_check_pad_rows
            $error($sformatf("bnn_swg: PT (%0d) and PB (%0d) must be 0 to KH - 1 (KH = %0d)", PT, PB, KH));
        end
        if (PL < 0 || PR < 0 || PL >= KW || PR >= KW) begin : g_check_pad_columns
            $error($sformatf("bnn_swg: PL (%0d) and PR (%0d) must be 0 to KW - 1 (KW = %0d)", PL, PR, KW));
        end
        if (KH > H + PT + PB || KW > W + PL + PR) begin : g_check_window_fits
            $error($sformatf("bnn_swg: the KH x KW (%0d x %0d) window must fit the padded H x W input (%0d x %0d)",
                             KH, KW, H + PT + PB, W + PL + PR));
        end
        if (SIMD < 1 || (KH * KW * C) % SIMD != 0) begin : g_check_simd
            $error($sformatf("bnn_swg: SIMD (%0d) must divide KH*KW*C (%0d)", SIMD, KH * KW * C));
        end
    endgenerate

    localparam int HP = H + PT + PB;
    localparam int WP = W + PL + PR;
    localparam int PIX = C * IN_BITS + 1;       // a pixel and its validity (0 in the padding)
    localparam int TAPS = KH * KW;
    localparam int N = TAPS * C;             // elements per window
    localparam int SF = N / SIMD;            // chunks per window
    localparam int D = WP - KW;              // delay of each line buffer, in shifts
    localparam int LINES_W = (KH > 1 ? KH - 1 : 1) * PIX;
    localparam int YW = $clog2(HP + 1);
    localparam int XW = $clog2(WP + 1);
    localparam int SHW = SH > 1 ? $clog2(SH) : 1;
    localparam int SWW = SW > 1 ? $clog2(SW) : 1;
    localparam int SFW = SF > 1 ? $clog2(SF) : 1;

    // ---- the padded raster: which pixel shifts in next, and whether it completes a window
    logic [YW-1:0] y;
    logic [XW-1:0] x;
    logic [SHW-1:0] y_phase;  // (y - (KH-1)) mod SH once y >= KH-1
    logic [SWW-1:0] x_phase;  // (x - (KW-1)) mod SW once x >= KW-1

    wire interior = (int'(y) >= PT) && (int'(y) < PT + H) && (int'(x) >= PL) && (int'(x) < PL + W);
    wire completes = (int'(y) >= KH - 1) && (int'(x) >= KW - 1) && (y_phase == '0) && (x_phase == '0);

    // ---- window, line buffers and emit register
    logic [PIX-1:0] window[TAPS];    // tap kh*KW + kw
    logic [N*IN_BITS-1:0] emit_data;
    logic [N-1:0] emit_mask;
    logic emit_full;
    logic [SFW-1:0] sf;

    wire last_chunk = (sf == SFW'(SF - 1));
    wire emit_free = !emit_full || (last_chunk && m_axis_tready);
    wire shift = (interior ? s_axis_tvalid : 1'b1) && (!completes || emit_free);
    assign s_axis_tready = interior && (!completes || emit_free);

    assign m_axis_tvalid = emit_full;
    assign m_axis_tdata = {emit_mask[int'(sf)*SIMD+:SIMD], emit_data[int'(sf)*SIMD*IN_BITS+:SIMD*IN_BITS]};

    wire [PIX-1:0] incoming = interior ? {1'b1, s_axis_tdata} : '0;

    // Pixels leaving row kh+1 of the window (at tap (kh+1)*KW) re-enter row kh D shifts later.
    logic [LINES_W-1:0] lines_out, lines_in;
    always_comb begin
        lines_in = '0;
        for (int kh = 0; kh < KH - 1; kh++) lines_in[kh*PIX+:PIX] = window[(kh+1)*KW];
    end
    generate
        if (KH > 1 && D > 0) begin : delay
            localparam int PW = D > 1 ? $clog2(D) : 1;
            logic [LINES_W-1:0] lines[D];
            logic [PW-1:0] ptr;
            assign lines_out = lines[ptr];  // the value written D shifts ago
            always_ff @(posedge clk) begin
                if (!rst_n) begin
                    ptr <= '0;
                end else if (shift) begin
                    lines[ptr] <= lines_in;
                    ptr <= (ptr == PW'(D - 1)) ? '0 : ptr + 1'b1;
                end
            end
        end else begin : direct
            assign lines_out = lines_in;
        end
    endgenerate

    logic [PIX-1:0] window_next[TAPS];
    always_comb begin
        for (int kh = 0; kh < KH; kh++) begin
            for (int kw = 0; kw < KW - 1; kw++) window_next[kh*KW+kw] = window[kh*KW+kw+1];
            window_next[kh*KW+KW-1] = (kh == KH - 1) ? incoming : lines_out[kh*PIX+:PIX];
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            y <= '0;
            x <= '0;
            y_phase <= '0;
            x_phase <= '0;
            emit_full <= 1'b0;
            sf <= '0;
            for (int t = 0; t < TAPS; t++) window[t] <= '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) begin
                sf <= last_chunk ? '0 : sf + 1'b1;
                if (last_chunk) emit_full <= 1'b0;
            end
            if (shift) begin
                for (int t = 0; t < TAPS; t++) window[t] <= window_next[t];
                if (completes) begin
                    for (int t = 0; t < TAPS; t++) begin
                        emit_data[t*C*IN_BITS+:C*IN_BITS] <= window_next[t][C*IN_BITS-1:0];
                        emit_mask[t*C+:C] <= {C{window_next[t][C*IN_BITS]}};
                    end
                    emit_full <= 1'b1;
                    sf <= '0;
                end
                if (int'(x) >= KW - 1) x_phase <= (x_phase == SWW'(SW - 1)) ? '0 : x_phase + 1'b1;
                if (int'(x) == WP - 1) begin
                    x <= '0;
                    x_phase <= '0;
                    if (int'(y) >= KH - 1) y_phase <= (y_phase == SHW'(SH - 1)) ? '0 : y_phase + 1'b1;
                    if (int'(y) == HP - 1) begin
                        y <= '0;
                        y_phase <= '0;
                    end else begin
                        y <= y + 1'b1;
                    end
                end else begin
                    x <= x + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
