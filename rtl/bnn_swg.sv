// bnnfpga RTL library: sliding window generator (im2col on a stream), DESIGN.md 3.5.
//
// Reads a frame of H x W pixels (C elements of BITS bits, channel c at [c*BITS +: BITS]) into
// one of two frame buffers, and meanwhile streams the previous frame's patch vectors: for
// every output position, the KH x KW x C window in the order (kh, kw, c) as chunks
// {mask, data} of SIMD elements; elements in the zero padding have data 0 and mask 0.
// Two buffers let a frame arrive while the previous one is read out.
// (A line-buffer version would need KH rows instead of two frames; the interface is the same.)
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
    localparam int OH = (H + PT + PB - KH) / SH + 1;
    localparam int OW = (W + PL + PR - KW) / SW + 1;
    localparam int SF = KH * KW * C / SIMD;
    localparam int PIXELS = H * W;
    localparam int PW = PIXELS > 1 ? $clog2(PIXELS) : 1;
    localparam int OHW = OH > 1 ? $clog2(OH) : 1;
    localparam int OWW = OW > 1 ? $clog2(OW) : 1;
    localparam int SFW = SF > 1 ? $clog2(SF) : 1;

    logic [C*BITS-1:0] frame[2][PIXELS];
    logic full[2];
    logic wb, rb;               // bank being written, bank being read
    logic [PW-1:0] waddr;
    logic [OHW-1:0] oy;
    logic [OWW-1:0] ox;
    logic [SFW-1:0] sf;

    assign s_axis_tready = !full[wb];
    assign m_axis_tvalid = full[rb];

    // The chunk at (oy, ox, sf) of the bank being read.
    always_comb begin
        m_axis_tdata = '0;
        for (int s = 0; s < SIMD; s++) begin
            /* verilator lint_off UNUSEDSIGNAL */  // only the low bits of the indices are used
            int i, c, kw, kh, y, x;
            /* verilator lint_on UNUSEDSIGNAL */
            i = int'(sf) * SIMD + s;
            c = i % C;
            kw = (i / C) % KW;
            kh = i / (C * KW);
            y = int'(oy) * SH - PT + kh;
            x = int'(ox) * SW - PL + kw;
            if (y >= 0 && y < H && x >= 0 && x < W) begin
                m_axis_tdata[s*BITS+:BITS] = frame[rb][y*W+x][c*BITS+:BITS];
                m_axis_tdata[SIMD*BITS+s] = 1'b1;
            end
        end
    end

    wire last_chunk = (int'(oy) == OH - 1) && (int'(ox) == OW - 1) && (int'(sf) == SF - 1);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            full[0] <= 1'b0;
            full[1] <= 1'b0;
            wb <= 1'b0;
            rb <= 1'b0;
            waddr <= '0;
            oy <= '0;
            ox <= '0;
            sf <= '0;
        end else begin
            if (s_axis_tvalid && s_axis_tready) begin
                frame[wb][waddr] <= s_axis_tdata;
                if (int'(waddr) == PIXELS - 1) begin
                    waddr <= '0;
                    full[wb] <= 1'b1;
                    wb <= !wb;
                end else begin
                    waddr <= waddr + 1'b1;
                end
            end
            if (m_axis_tvalid && m_axis_tready) begin
                if (int'(sf) == SF - 1) begin
                    sf <= '0;
                    if (int'(ox) == OW - 1) begin
                        ox <= '0;
                        oy <= (int'(oy) == OH - 1) ? '0 : oy + 1'b1;
                    end else begin
                        ox <= ox + 1'b1;
                    end
                end else begin
                    sf <= sf + 1'b1;
                end
                if (last_chunk) begin
                    full[rb] <= 1'b0;
                    rb <= !rb;
                end
            end
        end
    end
endmodule
