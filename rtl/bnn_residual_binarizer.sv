`default_nettype none

// bnnfpga RTL library: run-time residual binarization of order K (HORQ; XNOR-Net's input
// scaling at K = 1), exactly as docs/DESIGN.md 5.3 defines it.
//
// For each vector of N integer elements x (read as N/SIMD chunks on s_axis), with S_0 = x:
//     A_k = sum_i |S_(k-1),i|,  H_k = sign(S_(k-1)),  S_k = N*S_(k-1) - A_k*H_k   (k = 1 .. K)
// and writes the vector again as N/SIMD chunks on m_axis, each element as its K ternary signs
// H_1 .. H_K, every chunk with the vector's K gains G_k = A_k * N^(K-k), so that the MVU
// behind (bnn_mvu, RESIDUAL = K) computes N^K * W.x^ = sum_k G_k * (W.H_k). With GAIN_SHIFT
// F > 0 the gains leave as floor(G_k / 2^F) (fixed-point beta, where the exact sum would not
// fit the MVU's accumulator); the residuals and sums inside stay exact.
//
// S_k,i depends on x_i and the A's only, so the module never revisits the elements: while a
// vector loads it counts how many elements take each of the 2^IN_BITS values (a histogram);
// then K steps over the values compute A_k = sum_v count[v]*|S_(k-1)(v)| and each value's
// sign codes (2K cycles plus one for the gains); then the vector leaves, each element mapped
// through its value's codes. Two vector buffers: the next vector loads while one leaves.
// Cycles per vector: N/SIMD (the load), or N/SIMD + 2K + 2 when the vector behind waits.
//
// s_axis_tdata = {mask, data}: SIMD elements of IN_BITS bits, mask bit 0 where the element
// is zero padding (value 0).
// m_axis_tdata = {gains, mask, codes}: element s's code of plane k at [s*2K + 2k +: 2]
// (2-bit two's complement: 01 = +1, 11 = -1, 00 = 0), SIMD mask bits (all 1: padding is a
// zero code), gain k at [k*OUT_GAIN_W +: OUT_GAIN_W] of the top K*OUT_GAIN_W bits,
// OUT_GAIN_W = GAIN_W - GAIN_SHIFT.
module bnn_residual_binarizer #(
    // Elements per vector (n), a multiple of SIMD
    parameter int N = 8,
    // Elements per chunk, in and out
    parameter int SIMD = 4,
    // Bits per input element: 1 with IN_BIPOLAR, else 1 to 4 (2^IN_BITS histogram bins)
    parameter int IN_BITS = 2,
    // Inputs are bipolar: IN_BITS = 1, bit 1 = +1, bit 0 = -1
    parameter bit IN_BIPOLAR = 1'b0,
    // Integer inputs are two's complement (else unsigned)
    parameter bit IN_SIGNED = 1'b0,
    // 0: no input element is ever padding (the mask is ignored)
    parameter bit PADDED = 1'b1,
    // K, the sign planes per element: 1 to 8
    parameter int ORDER = 2,
    // Bits of the scaled residuals S_k (k < K), two's complement: N^(K-1)*max|x| must fit
    parameter int S_W = 8,
    // Bits of the sums A_k and the gains G_k, unsigned: N^K*max|x| must fit
    parameter int GAIN_W = 12,
    // F: the gains leave as floor(G_k / 2^F), GAIN_W - F bits each; 0 to GAIN_W - 1
    parameter int GAIN_SHIFT = 0
) (
    input  wire                                        clk,
    input  wire                                        rst_n,
    input  wire  [SIMD*IN_BITS+SIMD-1:0]               s_axis_tdata,
    input  wire                                        s_axis_tvalid,
    output logic                                       s_axis_tready,
    output logic [ORDER*(GAIN_W-GAIN_SHIFT)+SIMD+SIMD*2*ORDER-1:0]  m_axis_tdata,
    output logic                                       m_axis_tvalid,
    input  wire                                        m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (N < 1 || SIMD < 1 || N % SIMD != 0) begin : g_check_n
            $error($sformatf("bnn_residual_binarizer: N (%0d) must be a positive multiple of SIMD (%0d)", N, SIMD));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_residual_binarizer: IN_BIPOLAR inputs are 1 bit, IN_BITS (%0d) must be 1", IN_BITS));
        end
        if (IN_BITS < 1 || IN_BITS > 4) begin : g_check_in_bits
            $error($sformatf("bnn_residual_binarizer: IN_BITS (%0d) must be 1 to 4 (a histogram bin per value)", IN_BITS));
        end
        if (ORDER < 1 || ORDER > 8) begin : g_check_order
            $error($sformatf("bnn_residual_binarizer: ORDER (%0d) must be 1 to 8", ORDER));
        end
        if (S_W < 2 || GAIN_W < 1 || GAIN_W > 62) begin : g_check_widths
            $error($sformatf("bnn_residual_binarizer: S_W (%0d) must be >= 2 and GAIN_W (%0d) 1 to 62", S_W, GAIN_W));
        end
        if (GAIN_SHIFT < 0 || GAIN_SHIFT >= GAIN_W) begin : g_check_shift
            $error($sformatf("bnn_residual_binarizer: GAIN_SHIFT (%0d) must be 0 to GAIN_W - 1 (%0d)", GAIN_SHIFT, GAIN_W - 1));
        end
    endgenerate

    localparam int OUT_GAIN_W = GAIN_W - GAIN_SHIFT;  // bits per gain on m_axis
    localparam int SF = N / SIMD;
    localparam int SF_W = SF > 1 ? $clog2(SF) : 1;
    // Histogram bins: a value each; bipolar: {valid, bit}, so that padding (0) has its own bin
    localparam int BIN_BITS = IN_BIPOLAR ? 2 : IN_BITS;
    localparam int V = 1 << BIN_BITS;
    localparam int CNT_W = $clog2(N + 1);
    localparam int CODE_W = 2 * ORDER;  // the K signs of one element
    localparam int STEP_W = $clog2(2 * ORDER + 2);
    localparam int WIDE = GAIN_W + 2;   // N*S - A*h before it is known to fit S_W

    // N^(K-k): the weight of plane k in N^K * x^, a constant per plane
    function automatic logic [GAIN_W-1:0] power_of_n(input int exponent);
        longint p;
        p = 1;
        for (int j = 0; j < exponent; j++) p = p * longint'(N);
        power_of_n = GAIN_W'(p);
    endfunction

    // The value of histogram bin b
    function automatic logic signed [S_W-1:0] bin_value(input int b);
        if (IN_BIPOLAR) bin_value = b == 3 ? S_W'(1) : b == 2 ? -S_W'(1) : '0;
        else if (IN_SIGNED) bin_value = S_W'($signed(BIN_BITS'(b)));
        else bin_value = S_W'(b);
    endfunction

    // The bin of element s of a chunk
    function automatic logic [BIN_BITS-1:0] bin_of(input logic [SIMD*IN_BITS+SIMD-1:0] chunk, input int s);
        logic valid;
        valid = !PADDED || chunk[SIMD*IN_BITS+s];
        bin_of = '0;
        if (valid) bin_of = IN_BIPOLAR ? BIN_BITS'({1'b1, chunk[s]}) : BIN_BITS'(chunk[s*IN_BITS+:IN_BITS]);
    endfunction

    // ---- load side: buffer wsel fills, then the K steps fill its tables
    logic [SIMD*BIN_BITS-1:0] held[2][SF];  // the bin of each element
    logic [CODE_W-1:0] codes[2][V];
    logic [ORDER*OUT_GAIN_W-1:0] gains[2];
    logic full[2];
    logic wsel, rsel;
    logic [SF_W-1:0] load_sf, emit_sf;
    logic computing;
    logic [STEP_W-1:0] step;  // 2(k-1): the sum A_k; 2(k-1) + 1: the signs H_k; 2K: the gains
    logic [CNT_W-1:0] count[V];
    logic signed [S_W-1:0] residual[V];  // S_(k-1)(v)
    logic [GAIN_W-1:0] sums[ORDER];      // A_k
    logic [CODE_W-1:0] table_codes[V];

    assign s_axis_tready = !computing && !full[wsel];
    wire load = s_axis_tvalid && s_axis_tready;
    wire last_load = (load_sf == SF_W'(SF - 1));
    int plane;  // k - 1 during the steps of plane k
    assign plane = int'(step) / 2;

    // A_k over the bins (0 contributes 0): count * |S| as shift-adds over the count's bits, so
    // that the products stay in LUTs (the library uses no DSP slice)
    logic [GAIN_W-1:0] sum_now;
    always_comb begin
        sum_now = '0;
        for (int v = 0; v < V; v++) begin
            logic [S_W-1:0] magnitude;
            magnitude = residual[v][S_W-1] ? S_W'(-residual[v]) : S_W'(residual[v]);
            for (int j = 0; j < CNT_W; j++)
                if (count[v][j]) sum_now += GAIN_W'(magnitude) << j;
        end
    end

    // value * constant as shift-adds over the constant's set bits (adders, not a DSP slice)
    function automatic logic signed [WIDE-1:0] times_constant(input logic signed [WIDE-1:0] value, input longint constant);
        times_constant = '0;
        for (int j = 0; j < WIDE; j++)
            if (constant[j]) times_constant += value <<< j;
    endfunction

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wsel <= 1'b0;
            rsel <= 1'b0;
            emit_sf <= '0;
            load_sf <= '0;
            computing <= 1'b0;
            step <= '0;
            full[0] <= 1'b0;
            full[1] <= 1'b0;
        end else begin
            if (load) begin
                held[wsel][load_sf] <= '0;
                for (int s = 0; s < SIMD; s++) held[wsel][load_sf][s*BIN_BITS+:BIN_BITS] <= bin_of(s_axis_tdata, s);
                for (int v = 0; v < V; v++) begin
                    logic [CNT_W-1:0] hits;
                    hits = '0;
                    for (int s = 0; s < SIMD; s++) hits += CNT_W'(bin_of(s_axis_tdata, s) == BIN_BITS'(v));
                    count[v] <= (load_sf == '0 ? '0 : count[v]) + hits;
                end
                load_sf <= last_load ? '0 : load_sf + 1'b1;
                if (last_load) begin
                    computing <= 1'b1;
                    step <= '0;
                    for (int v = 0; v < V; v++) residual[v] <= bin_value(v);
                end
            end
            if (computing) begin
                if (step == STEP_W'(2 * ORDER)) begin
                    // G_k = A_k * N^(K-k), then >> F; the tables belong to the buffer now
                    for (int k = 0; k < ORDER; k++) begin
                        logic [GAIN_W-1:0] gain;
                        gain = GAIN_W'(times_constant(WIDE'(sums[k]), longint'(power_of_n(ORDER - 1 - k))));
                        gains[wsel][k*OUT_GAIN_W+:OUT_GAIN_W] <= OUT_GAIN_W'(gain >> GAIN_SHIFT);
                    end
                    for (int v = 0; v < V; v++) codes[wsel][v] <= table_codes[v];
                    full[wsel] <= 1'b1;
                    wsel <= !wsel;
                    computing <= 1'b0;
                end else if (!step[0]) begin
                    sums[plane] <= sum_now;
                end else begin
                    for (int v = 0; v < V; v++) begin
                        logic signed [WIDE-1:0] next;
                        logic signed [1:0] sign;
                        sign = residual[v] > 0 ? 2'sb01 : residual[v] < 0 ? 2'sb11 : 2'sb00;
                        table_codes[v][2*plane+:2] <= sign;
                        next = times_constant(WIDE'(residual[v]), longint'(N));
                        if (sign == 2'sb01) next -= WIDE'(sums[plane]);
                        if (sign == 2'sb11) next += WIDE'(sums[plane]);
                        residual[v] <= S_W'(next);  // fits: |S_k| <= N^k*max|x| (unused after k = K - 1)
                    end
                end
                if (step != STEP_W'(2 * ORDER)) step <= step + 1'b1;
            end
            // ---- emit side
            if (m_axis_tvalid && m_axis_tready) begin
                emit_sf <= emit_sf == SF_W'(SF - 1) ? '0 : emit_sf + 1'b1;
                if (emit_sf == SF_W'(SF - 1)) begin
                    full[rsel] <= 1'b0;
                    rsel <= !rsel;
                end
            end
        end
    end

    assign m_axis_tvalid = full[rsel];
    always_comb begin
        m_axis_tdata = '0;
        for (int s = 0; s < SIMD; s++)
            m_axis_tdata[s*CODE_W+:CODE_W] = codes[rsel][held[rsel][emit_sf][s*BIN_BITS+:BIN_BITS]];
        m_axis_tdata[SIMD*CODE_W+:SIMD] = '1;
        m_axis_tdata[SIMD*CODE_W+SIMD+:ORDER*OUT_GAIN_W] = gains[rsel];
    end
endmodule

`default_nettype wire
