// bnnfpga RTL library: sliding window generator (im2col on a stream), DESIGN.md 3.5.
//
// Reads frames of H x W pixels (C elements of BITS bits, channel c at [c*BITS +: BITS]) and
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
// Cycles per frame: HP*WP shifts plus those waits (codegen/dataflow.py window_cycles).
module bnn_swg #(
    parameter int C = 2,      // channels
    parameter int BITS = 1,   // bits per element
    parameter int H = 5,      // input height
    parameter int W = 5,      // input width
    parameter int KH = 3,     // kernel height
    parameter int KW = 3,     // kernel width
    parameter int SH = 1,     // stride (rows)
    parameter int SW = 1,     // stride (columns)
    parameter int PT = 0,     // zero padding top
    parameter int PL = 0,     // zero padding left
    parameter int PB = 0,     // zero padding bottom
    parameter int PR = 0,     // zero padding right
    parameter int SIMD = 2    // elements per chunk, divides KH*KW*C
) (
    input  logic                       clk,
    input  logic                       rst_n,
    input  logic [C*BITS-1:0]          s_axis_tdata,
    input  logic                       s_axis_tvalid,
    output logic                       s_axis_tready,
    output logic [SIMD*BITS+SIMD-1:0]  m_axis_tdata,
    output logic                       m_axis_tvalid,
    input  logic                       m_axis_tready
);
    localparam int HP = H + PT + PB;
    localparam int WP = W + PL + PR;
    localparam int PIX = C * BITS + 1;       // a pixel and its validity (0 in the padding)
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
    logic [N*BITS-1:0] emit_data;
    logic [N-1:0] emit_mask;
    logic emit_full;
    logic [SFW-1:0] sf;

    wire last_chunk = (sf == SFW'(SF - 1));
    wire emit_free = !emit_full || (last_chunk && m_axis_tready);
    wire shift = (interior ? s_axis_tvalid : 1'b1) && (!completes || emit_free);
    assign s_axis_tready = interior && (!completes || emit_free);

    assign m_axis_tvalid = emit_full;
    assign m_axis_tdata = {emit_mask[int'(sf)*SIMD+:SIMD], emit_data[int'(sf)*SIMD*BITS+:SIMD*BITS]};

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
                        emit_data[t*C*BITS+:C*BITS] <= window_next[t][C*BITS-1:0];
                        emit_mask[t*C+:C] <= {C{window_next[t][C*BITS]}};
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
