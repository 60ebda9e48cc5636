`default_nettype none

// bnnfpga RTL library: matrix-vector unit with thresholds (docs/DESIGN.md 3.1-3.4, 4).
//
// For each input vector of MW elements, read as MW/SIMD chunks on s_axis, computes MH dot
// products with ±1, ternary, k-bit or power-of-two (INQ) weight rows, PE rows per cycle over
// SIMD elements per cycle,
// (or, GAINED, A*P - B*N over the two planes of ternary rows: P and N the sums of the inputs
// where the weight is +1 and -1, A and B the row's integer gains; asymmetric ternary weights),
// (or, BASES = M, sum_i C_i*P_i over M binary weight bases: P_i the dot product with base i's
// +-1 weights, C_i the row's signed integer gains; ABC-Net, docs/DESIGN.md 5.2)
// (or, RESIDUAL = K, sum_k G_k*P_k over K ternary input planes: each element is K 2-bit sign
// codes from bnn_residual_binarizer, P_k the dot product with plane k, G_k the vector's
// unsigned gains carried by its chunks; HORQ, docs/DESIGN.md 5.3; one multiplier per lane
// adds a plane per cycle after the row, so rows take max(MW/SIMD, K) cycles)
// and writes one word of MH activations on m_axis: per channel OUT_BITS bits of
// BASE + (number of its LEVELS thresholds reached) (one threshold: bit 1 = +1), or the int32
// accumulator (THRESHOLDED = 0, the last layer). The input vector is kept in a buffer
// during the first of the MH/PE passes and reused by the others.
// With border classes (ROW_CLASSES * COL_CLASSES > 1) the vectors are the OUT_H x OUT_W
// output positions of a convolution in row-major order, and position (r, c) compares against
// the thresholds of class row_class[r] * COL_CLASSES + col_class[c] (docs/DESIGN.md 3.4: an
// input offset reaches the border positions of a zero-padded convolution through fewer taps).
// Cycles per vector: (MH/PE) * (MW/SIMD), whatever the back-pressure allows.
//
// s_axis_tdata = {mask, data}: data holds SIMD elements of IN_BITS bits (element s at bits
// [s*IN_BITS +: IN_BITS]); mask bit s is 0 where element s is zero padding (docs/DESIGN.md 3.5).
// With RESIDUAL = K: {gains, mask, data}, each element K ternary codes of IN_BITS = 2 bits
// (plane k at [s*2K + 2k +: 2]), gain k at [k*GAIN_W +: GAIN_W] of the top K*GAIN_W bits, the
// same in every chunk of a vector (the first chunk's are used).
//
// Three pipeline stages, all stalled together by output back-pressure:
//   fetch       take a chunk (from s_axis in the first pass, else from the buffer) and
//               read the weight word of all PE lanes (a synchronous ROM: BRAM or LUTRAM)
//   partial     per lane, GROUP-element partial dot products (popcounts for bipolar
//               inputs): the first level of the adder tree
//   accumulate  sum the partials into the accumulator; at the end of a row apply the
//               threshold, and at the end of the vector load the output register
//   combine     (RESIDUAL only) the row's K plane sums times the vector's gains, one plane
//               per cycle, then the threshold and the output register; a row ending while
//               the previous one is still combined stalls the stages above
module bnn_mvu #(
    // Elements per input vector (the matrix width); a multiple of SIMD
    parameter int MW = 9,
    // Output channels (the matrix height); a multiple of PE
    parameter int MH = 4,
    // Input elements per cycle (per chunk on s_axis); divides MW
    parameter int SIMD = 3,
    // Output channels (weight rows) per cycle; divides MH
    parameter int PE = 2,
    // Bits per input element: 1 with IN_BIPOLAR, 2 with IN_TERNARY, else >= 1
    parameter int IN_BITS = 1,
    // Inputs are bipolar: IN_BITS = 1, bit 1 = +1, bit 0 = -1
    parameter bit IN_BIPOLAR = 1'b1,
    // Integer inputs are two's complement (else unsigned); set with IN_TERNARY
    parameter bit IN_SIGNED = 1'b0,
    // Inputs are ternary levels: IN_BITS = 2 (01 = +1, 11 = -1, 00 = 0), IN_SIGNED = 1,
    // not IN_BIPOLAR; popcounts, as bipolar
    parameter bit IN_TERNARY = 1'b0,
    // Bits per weight, 1 to 8: 1 (bit 1 = +1, 0 = -1), 2 (ternary: bit 0 sign, bit 1
    // non-zero), 3 to 8 (two's complement integers, or power-of-two codes with W_POW2)
    parameter int W_BITS = 1,
    // Power-of-two weights (INQ), W_BITS = 3 to 7: bit 0 the sign (1 = +), bits [1, W_BITS-1)
    // the exponent e of |w| = 2^e, bit W_BITS-1 set for a non-zero weight. The product is a
    // shift of the input by e: no multiplier
    parameter bit W_POW2 = 1'b0,
    // Accumulator width in bits (proven by the compiler), >= 1
    parameter int ACC_W = 8,
    // Bits per output channel, 1 to 32; 32: int32 accumulators (the last layer)
    parameter int OUT_BITS = 1,
    // Thresholds (else the accumulators themselves); follows OUT_BITS
    parameter bit THRESHOLDED = OUT_BITS != 32,
    // Thresholds per channel, >= 1 (2^k - 1 for k-bit outputs)
    parameter int LEVELS = 1,
    // Output value when no threshold is reached (k-bit outputs)
    parameter int BASE = 0,
    // Threshold width in bits (a threshold may be max + 1), >= 1
    parameter int T_W = ACC_W + 1,
    // Elements per first-level adder of the pipelined tree, >= 1
    parameter int GROUP = 32,
    // 0: no input element is ever padding (the mask is ignored)
    parameter bit PADDED = 1'b1,
    // Two weight planes with gains (W_BITS = 2): the accumulator is A*P - B*N
    parameter bit GAINED = 1'b0,
    // Binary weight bases (ABC-Net), 0 (none) or 2 to 8: W_BITS = BASES, weight bit i of an
    // element the sign of its base i (1 = +1), and the accumulator sum_i C_i*P_i
    parameter int BASES = 0,
    // K ternary input planes per element (residual binarization, docs/DESIGN.md 5.3): 0 (none)
    // or 1 to 8; the input type (IN_TERNARY) is a plane's, an element holds K of them, and the
    // planes' sums are combined with the vector's gains
    parameter int RESIDUAL = 0,
    // Width in bits of the plane sums (P and N with GAINED, P_i with BASES), >= 1
    parameter int PLANE_W = ACC_W,
    // Bits per gain (GAINED: unsigned; BASES: two's complement), >= 1
    parameter int GAIN_W = 1,
    // Output rows and columns of a convolution (vectors per frame: OUT_H * OUT_W), >= 1
    parameter int OUT_H = 1,
    parameter int OUT_W = 1,
    // Border classes of output rows and of output columns, >= 1: thresholds per class
    parameter int ROW_CLASSES = 1,
    parameter int COL_CLASSES = 1,
    // k-bit integer weights (W_BITS >= 3, two's complement) on integer inputs: each w*x product
    // a multiplier that synthesis maps to a DSP48 slice, rather than shift-adds in LUTs
    parameter bit DSP_PRODUCTS = 1'b0,
    // Weight ROM style, a synthesis attribute only: "block" forces BRAM; "auto" leaves it to
    // synthesis
    /* verilator lint_off UNUSEDPARAM */
    parameter WEIGHTS_STYLE = "auto",
    /* verilator lint_on UNUSEDPARAM */
    // $readmemh: (MH/PE)*(MW/SIMD) words of PE*SIMD*W_BITS bits, [nf*SF + sf], lane pe at
    // [pe*SIMD*W_BITS +: SIMD*W_BITS]
    parameter WEIGHTS_FILE = "",
    // $readmemh: CLASSES*MH*LEVELS thresholds of T_W bits, channel c's of class k at
    // [(k*MH + c)*LEVELS +: LEVELS] (CLASSES = ROW_CLASSES * COL_CLASSES)
    parameter THRESHOLDS_FILE = "",
    // $readmemh: MH 2-bit codes: 0 threshold, 1 constant +1, 3 constant -1 (LEVELS = 1)
    parameter CONSTANTS_FILE = "",
    // $readmemh (GAINED): MH words of 2*GAIN_W bits, {B, A}; (BASES): MH words of BASES*GAIN_W
    // bits, gain C_i at [i*GAIN_W +: GAIN_W]
    parameter GAINS_FILE = "",
    // $readmemh (CLASSES > 1): the class of each of the OUT_H rows and of the OUT_W columns
    parameter ROW_CLASS_FILE = "",
    parameter COL_CLASS_FILE = ""
) (
    input  wire                          clk,
    input  wire                          rst_n,
    input  wire  [SIMD*IN_BITS*(RESIDUAL != 0 ? RESIDUAL : 1)+SIMD+RESIDUAL*GAIN_W-1:0] s_axis_tdata,
    input  wire                          s_axis_tvalid,
    output logic                         s_axis_tready,
    output logic [MH*OUT_BITS-1:0]       m_axis_tdata,
    output logic                         m_axis_tvalid,
    input  wire                          m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (MW < 1 || MH < 1 || SIMD < 1 || PE < 1) begin : g_check_sizes
            $error($sformatf("bnn_mvu: MW (%0d), MH (%0d), SIMD (%0d) and PE (%0d) must be >= 1", MW, MH, SIMD, PE));
        end else begin : g_check_fold
            if (MW % SIMD != 0) begin : g_check_simd
                $error($sformatf("bnn_mvu: SIMD (%0d) must divide MW (%0d)", SIMD, MW));
            end
            if (MH % PE != 0) begin : g_check_pe
                $error($sformatf("bnn_mvu: PE (%0d) must divide MH (%0d)", PE, MH));
            end
        end
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_mvu: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_mvu: IN_BIPOLAR inputs are 1 bit, IN_BITS (%0d) must be 1", IN_BITS));
        end
        if (IN_TERNARY && IN_BITS != 2) begin : g_check_ternary
            $error($sformatf("bnn_mvu: IN_TERNARY inputs are 2 bits, IN_BITS (%0d) must be 2", IN_BITS));
        end
        if (IN_TERNARY && !IN_SIGNED) begin : g_check_ternary_signed
            $error("bnn_mvu: IN_TERNARY inputs are two's complement, IN_SIGNED must be 1");
        end
        if (IN_TERNARY && IN_BIPOLAR) begin : g_check_ternary_bipolar
            $error("bnn_mvu: IN_TERNARY and IN_BIPOLAR exclude each other");
        end
        if (W_BITS < 1 || W_BITS > 8) begin : g_check_w_bits
            $error($sformatf("bnn_mvu: W_BITS (%0d) must be 1 (+-1), 2 (ternary) or 3 to 8 (integers)", W_BITS));
        end
        if (W_POW2 && (W_BITS < 3 || W_BITS > 7)) begin : g_check_pow2
            $error($sformatf("bnn_mvu: W_POW2 codes are 3 to 7 bits (1 to 5 exponent bits), W_BITS is %0d", W_BITS));
        end
        if (GAINED && W_BITS != 2) begin : g_check_gained
            $error($sformatf("bnn_mvu: GAINED rows are ternary, W_BITS (%0d) must be 2", W_BITS));
        end
        if (BASES != 0 && (BASES < 2 || BASES > 8)) begin : g_check_bases
            $error($sformatf("bnn_mvu: BASES (%0d) must be 0 (no weight bases) or 2 to 8", BASES));
        end
        if (BASES != 0 && W_BITS != BASES) begin : g_check_bases_w_bits
            $error($sformatf("bnn_mvu: weight bases take a bit each, W_BITS (%0d) must equal BASES (%0d)", W_BITS, BASES));
        end
        if (BASES != 0 && (GAINED || W_POW2)) begin : g_check_bases_alone
            $error("bnn_mvu: BASES excludes GAINED and W_POW2");
        end
        if (RESIDUAL < 0 || RESIDUAL > 8) begin : g_check_residual
            $error($sformatf("bnn_mvu: RESIDUAL (%0d) must be 0 (no residual planes) or 1 to 8", RESIDUAL));
        end
        if (RESIDUAL != 0 && !IN_TERNARY) begin : g_check_residual_inputs
            $error($sformatf("bnn_mvu: RESIDUAL = %0d planes are ternary sign codes: IN_TERNARY must be 1", RESIDUAL));
        end
        if (RESIDUAL != 0 && (GAINED || BASES != 0)) begin : g_check_residual_alone
            $error("bnn_mvu: RESIDUAL excludes GAINED and BASES");
        end
        if (RESIDUAL != 0 && ROW_CLASSES * COL_CLASSES > 1) begin : g_check_residual_classes
            $error("bnn_mvu: RESIDUAL excludes border classes (ROW_CLASSES, COL_CLASSES): its input has no offset");
        end
        if ((GAINED || BASES != 0 || RESIDUAL != 0) && (PLANE_W < 1 || GAIN_W < 1)) begin : g_check_gain_w
            $error($sformatf("bnn_mvu: PLANE_W (%0d) and GAIN_W (%0d) must be >= 1", PLANE_W, GAIN_W));
        end
        if (OUT_BITS < 1 || OUT_BITS > 32) begin : g_check_out_bits
            $error($sformatf("bnn_mvu: OUT_BITS (%0d) must be 1 to 32", OUT_BITS));
        end
        if (ACC_W < 1 || T_W < 1) begin : g_check_acc_w
            $error($sformatf("bnn_mvu: ACC_W (%0d) and T_W (%0d) must be >= 1", ACC_W, T_W));
        end
        if (LEVELS < 1) begin : g_check_levels
            $error($sformatf("bnn_mvu: LEVELS (%0d) must be >= 1", LEVELS));
        end
        if (GROUP < 1) begin : g_check_group
            $error($sformatf("bnn_mvu: GROUP (%0d) must be >= 1", GROUP));
        end
        if (OUT_H < 1 || OUT_W < 1 || ROW_CLASSES < 1 || COL_CLASSES < 1) begin : g_check_positions
            $error($sformatf("bnn_mvu: OUT_H (%0d), OUT_W (%0d), ROW_CLASSES (%0d), COL_CLASSES (%0d) must be >= 1",
                             OUT_H, OUT_W, ROW_CLASSES, COL_CLASSES));
        end else if (ROW_CLASSES > OUT_H || COL_CLASSES > OUT_W) begin : g_check_classes
            $error($sformatf("bnn_mvu: ROW_CLASSES (%0d) and COL_CLASSES (%0d) cannot exceed OUT_H (%0d) and OUT_W (%0d)",
                             ROW_CLASSES, COL_CLASSES, OUT_H, OUT_W));
        end
        if (DSP_PRODUCTS && (W_BITS < 3 || W_POW2 || IN_BIPOLAR || IN_TERNARY || GAINED || BASES != 0)) begin : g_check_dsp
            $error("bnn_mvu: DSP_PRODUCTS multiply two's complement weights (W_BITS >= 3, not W_POW2, GAINED or BASES) by integer inputs (not IN_BIPOLAR or IN_TERNARY)");
        end
        if (ROW_CLASSES * COL_CLASSES > 1 && !THRESHOLDED) begin : g_check_classes_thresholded
            $error("bnn_mvu: border classes select thresholds, THRESHOLDED must be 1");
        end
    endgenerate

    localparam int SF = MW / SIMD;
    localparam int NF = MH / PE;
    localparam int TILES = NF * SF;
    localparam int SF_W = SF > 1 ? $clog2(SF) : 1;
    localparam int NF_W = NF > 1 ? $clog2(NF) : 1;
    localparam int T_AW = TILES > 1 ? $clog2(TILES) : 1;
    localparam int G = SIMD < GROUP ? SIMD : GROUP;
    localparam int GROUPS = (SIMD + G - 1) / G;
    localparam int CW = $clog2(G + 1) + 1;  // a signed count of up to G elements
    // dot products per lane and chunk
    localparam int PLANES = RESIDUAL != 0 ? RESIDUAL : GAINED ? 2 : BASES != 0 ? BASES : 1;
    localparam bit COMBINED = GAINED || BASES != 0 || RESIDUAL != 0;  // plane sums times gains
    // Width of a partial dot product: the plane sum's when there are planes (the gains widen
    // them to ACC_W afterwards), else the accumulator's
    localparam int DOT_W = COMBINED ? PLANE_W : ACC_W;
    // Bits per element that one plane's dot product reads: a 2-bit sign code per residual plane
    localparam int X_BITS = IN_BITS;
    localparam bit X_TERNARY = IN_TERNARY;
    localparam bit X_SIGNED = IN_SIGNED;
    localparam int EL_BITS = IN_BITS * (RESIDUAL != 0 ? RESIDUAL : 1);  // bits of a stream element
    // A vector's residual gains (as wide as PLANES gains without RESIDUAL, where they are 0)
    localparam int RG_W = PLANES * GAIN_W;
    localparam int K_W = PLANES > 1 ? $clog2(PLANES) : 1;  // a plane index
    localparam int WIDE = DOT_W + CW + 2;   // intermediate width: no overflow before truncation
    localparam int LW = SIMD * W_BITS;      // weight bits per lane and chunk
    // Bits per element of the weights one dot product reads: a base's sign with BASES
    localparam int PW_BITS = BASES != 0 ? 1 : W_BITS;
    localparam int PLW = SIMD * PW_BITS;
    // k-bit integer weights: ±w (bipolar and ternary inputs) or w·x products (integer inputs)
    // rather than popcounts, as the popcount planes of a k-bit weight would need k counters.
    localparam bit W_INT = PW_BITS > 2;
    localparam int E_BITS = W_POW2 ? W_BITS - 2 : 1;  // exponent bits of a power-of-two code
    localparam bit POPCOUNT = (IN_BIPOLAR || X_TERNARY) && !W_INT;  // W_POW2 codes are W_INT
    localparam int GAIN_WORD = (BASES != 0 ? BASES : 2) * GAIN_W;  // gains of one row
    localparam int CLASSES = ROW_CLASSES * COL_CLASSES;
    localparam bit BORDER = CLASSES > 1;
    localparam int ROW_W = OUT_H > 1 ? $clog2(OUT_H) : 1;
    localparam int COL_W = OUT_W > 1 ? $clog2(OUT_W) : 1;
    localparam int CLASS_W = CLASSES > 1 ? $clog2(CLASSES) : 1;

    (* rom_style = WEIGHTS_STYLE *) logic [PE*LW-1:0] weights[TILES];
    logic signed [T_W-1:0] thresholds[CLASSES*MH*LEVELS];
    logic [1:0] constants[MH];
    logic [GAIN_WORD-1:0] gains[MH];
    logic [CLASS_W-1:0] row_class[OUT_H];
    logic [CLASS_W-1:0] col_class[OUT_W];
    initial begin
        $readmemh(WEIGHTS_FILE, weights);
        if (THRESHOLDED) begin
            $readmemh(THRESHOLDS_FILE, thresholds);
            $readmemh(CONSTANTS_FILE, constants);
        end
        if (GAINED || BASES != 0) $readmemh(GAINS_FILE, gains);
        if (BORDER) begin
            $readmemh(ROW_CLASS_FILE, row_class);
            $readmemh(COL_CLASS_FILE, col_class);
        end
    end

    // Control of one chunk as it moves down the pipeline.
    typedef struct packed {
        logic first;       // first chunk of a row: the accumulator starts from 0
        logic last;        // last chunk of a row: apply the activation
        logic [NF_W-1:0] nf;
        logic last_step;   // last chunk of the vector: load the output register
    } ctl_t;

    // ---- fetch ----
    logic [SF_W-1:0] sf;
    logic [NF_W-1:0] nf;
    logic [SIMD*EL_BITS-1:0] buf_data[SF];
    logic [SIMD-1:0] buf_mask[SF];
    logic f_valid;
    ctl_t f_ctl;
    logic [SIMD*EL_BITS-1:0] f_data;
    logic [SIMD-1:0] f_mask;
    logic [PE*LW-1:0] f_weights;
    logic [RG_W-1:0] vec_gains, f_gains;  // RESIDUAL: the gains of the vector being read
    // ---- partial ----
    logic p_valid;
    ctl_t p_ctl;
    logic [RG_W-1:0] p_gains;
    logic signed [DOT_W-1:0] p_part[PE][PLANES][GROUPS];
    // ---- accumulate ----
    logic signed [ACC_W-1:0] acc[PE];
    logic signed [PLANE_W-1:0] plane[PE][PLANES];  // GAINED: P and N; BASES: P_i
    logic [MH*OUT_BITS-1:0] result;
    // Output position of the vector in the accumulate stage, and its border class (registered
    // when the position advances, so the class is no longer path in front of the comparators)
    logic [ROW_W-1:0] out_row;
    logic [COL_W-1:0] out_col;
    logic [CLASS_W-1:0] position_class;
    wire last_col = (out_col == COL_W'(OUT_W - 1));
    wire last_row = (out_row == ROW_W'(OUT_H - 1));
    wire [ROW_W-1:0] next_row = last_col ? (last_row ? '0 : out_row + 1'b1) : out_row;
    wire [COL_W-1:0] next_col = last_col ? '0 : out_col + 1'b1;
    // Without border classes the class tables are never loaded: class 0, not an unknown value.
    wire [CLASS_W-1:0] threshold_class = BORDER ? position_class : '0;

    // ---- combine (RESIDUAL): a finished row's plane sums, one plane per cycle ----
    logic comb_busy;
    logic [K_W-1:0] comb_k;  // the plane added this cycle
    logic comb_last_step;    // the row completes the vector: load the output register
    logic [NF_W-1:0] comb_nf;
    logic signed [PLANE_W-1:0] comb_planes[PE][PLANES];
    logic [RG_W-1:0] comb_gains;
    logic signed [ACC_W-1:0] comb_acc[PE];
    wire comb_final = comb_busy && comb_k == K_W'(PLANES - 1);
    wire comb_blocked = comb_final && comb_last_step && m_axis_tvalid && !m_axis_tready;
    wire comb_free = !comb_busy || (comb_final && !comb_blocked);

    // The accumulate stage cannot finish a vector while the output register is occupied
    // (RESIDUAL: cannot hand a row over while the combine stage is busy with another).
    wire advance = RESIDUAL != 0 ? !(p_valid && p_ctl.last && !comb_free)
                                 : !(p_valid && p_ctl.last_step && m_axis_tvalid && !m_axis_tready);
    wire first_pass = (nf == 0);
    wire fire = advance && (first_pass ? s_axis_tvalid : 1'b1);
    assign s_axis_tready = first_pass && advance;

    wire [SIMD*EL_BITS-1:0] in_data = first_pass ? s_axis_tdata[SIMD*EL_BITS-1:0] : buf_data[sf];
    // Without padding the mask is all ones: dropping it saves a LUT input per popcount bit.
    wire [SIMD-1:0] in_mask = !PADDED ? '1 : first_pass ? s_axis_tdata[SIMD*EL_BITS+:SIMD] : buf_mask[sf];
    wire [RG_W-1:0] beat_gains;
    generate
        if (RESIDUAL != 0) begin : g_residual_gains
            assign beat_gains = s_axis_tdata[SIMD*EL_BITS+SIMD+:RG_W];
        end else begin : g_no_residual_gains
            assign beat_gains = '0;
        end
    endgenerate
    wire [RG_W-1:0] in_gains = first_pass ? beat_gains : vec_gains;
    wire last_sf = (sf == SF_W'(SF - 1));
    wire last_nf = (nf == NF_W'(NF - 1));
    wire [T_AW-1:0] tile = T_AW'(int'(nf) * SF + int'(sf));

    // Partial dot product of elements [g*G, (g+1)*G) of a chunk with weights w (PW_BITS per
    // element). A ternary zero weight takes its element out like padding does; so does a zero
    // ternary input.
    function automatic logic signed [DOT_W-1:0] group_dot(input logic [SIMD*X_BITS-1:0] x, input logic [SIMD-1:0] m,
                                                          input logic [PLW-1:0] w, input int g);
        logic signed [WIDE-1:0] sum;
        logic [CW-1:0] agree, valid;
        logic signed [X_BITS+1:0] v;
        logic signed [WIDE-1:0] term;
        logic signed [X_BITS+PW_BITS+1:0] product;
        logic [PLW+PW_BITS-1:0] w_ext;  // w with room to read an exponent field past any element
        w_ext = (PLW+PW_BITS)'(w);
        sum = '0;
        term = '0;
        agree = '0;
        valid = '0;
        v = '0;
        product = '0;
        for (int k = 0; k < G; k++) begin
            if (g * G + k < SIMD) begin
                logic sign, nonzero, x_sign, x_nonzero;
                logic signed [PW_BITS-1:0] weight;
                logic [E_BITS-1:0] exponent;
                sign = w[(g*G+k)*PW_BITS];
                nonzero = PW_BITS == 1 ? 1'b1 : w[(g*G+k)*PW_BITS+PW_BITS-1];
                weight = $signed(w[(g*G+k)*PW_BITS+:PW_BITS]);
                exponent = w_ext[(g*G+k)*PW_BITS+1+:E_BITS];
                x_sign = X_TERNARY ? !x[(g*G+k)*X_BITS+X_BITS-1] : x[(g*G+k)*X_BITS];
                x_nonzero = X_TERNARY ? x[(g*G+k)*X_BITS] : 1'b1;
                if (X_SIGNED) v = (X_BITS+2)'($signed(x[(g*G+k)*X_BITS+:X_BITS]));
                else v = (X_BITS+2)'({1'b0, x[(g*G+k)*X_BITS+:X_BITS]});
                if (W_POW2) begin
                    // ±(x << e): the input (1 for a bipolar or ternary one) shifted by the
                    // exponent, negated where the signs differ; a zero weight, a zero input and
                    // padding add nothing. Modulo 2^WIDE, as the sum is.
                    if (IN_BIPOLAR || X_TERNARY) term = WIDE'(1);
                    else term = {{(WIDE - X_BITS - 2){v[X_BITS+1]}}, v};  // sign extension
                    term = term <<< exponent;
                    if (IN_BIPOLAR || X_TERNARY) begin
                        if (m[g*G+k] & x_nonzero & nonzero) sum += (x_sign == sign) ? term : -term;
                    end else if (nonzero) begin
                        sum += sign ? term : -term;
                    end
                end else if (W_INT && (IN_BIPOLAR || X_TERNARY)) begin
                    // the input is +1, -1 or 0 (padding, a zero level): +w, -w or nothing
                    term = WIDE'(weight);
                    if (m[g*G+k] & x_nonzero) sum += x_sign ? term : -term;
                end else if (W_INT && DSP_PRODUCTS) begin
                    // w·x as a multiplier: a DSP48 slice (docs/DESIGN.md 4.4). Padding is 0.
                    product = v * weight;
                    sum += WIDE'(product);
                end else if (W_INT) begin
                    // w·x as shifted adds over the weight's two's complement bit planes
                    // (docs/DESIGN.md 5), not a multiplier: synthesis keeps it in LUTs rather than
                    // DSP slices. Padding is 0.
                    product = '0;
                    for (int j = 0; j < PW_BITS; j++)
                        if (weight[j]) product += (j == PW_BITS - 1) ? -((X_BITS+PW_BITS+2)'(v) <<< j) : (X_BITS+PW_BITS+2)'(v) <<< j;
                    sum += WIDE'(product);
                end else if (POPCOUNT) begin
                    // 2 * popcount(valid & XNOR) - popcount(valid): padding, zero weights and
                    // zero (ternary) inputs add 0
                    agree += CW'({m[g*G+k] & nonzero & x_nonzero & (x_sign ~^ sign)});
                    valid += CW'({m[g*G+k] & nonzero & x_nonzero});
                end else begin
                    term = {{(WIDE - X_BITS - 2){v[X_BITS+1]}}, v};  // sign extension
                    if (nonzero) sum += sign ? term : -term;
                end
            end
        end
        if (POPCOUNT) sum = 2 * WIDE'($signed({1'b0, agree})) - WIDE'($signed({1'b0, valid}));
        group_dot = DOT_W'(sum);
    endfunction

    // The input codes that plane pl reads (X_BITS per element): plane pl's sign code of each
    // element with RESIDUAL, else the inputs themselves.
    function automatic logic [SIMD*X_BITS-1:0] plane_inputs(input logic [SIMD*EL_BITS-1:0] x, input int pl);
        plane_inputs = '0;
        for (int s = 0; s < SIMD; s++) begin
            if (RESIDUAL != 0) plane_inputs[s*X_BITS+:X_BITS] = x[s*EL_BITS+X_BITS*pl+:X_BITS];
            else plane_inputs[s*X_BITS+:X_BITS] = x[s*EL_BITS+:X_BITS];
        end
    endfunction

    // The weights that plane pl reads (PW_BITS per element). GAINED: ternary codes, +1 where
    // the weight is +1 (pl = 0) or -1 (pl = 1), else 0; BASES: bit pl of each element, the
    // signs of base pl; else the weights themselves. The plane sum is the dot product with them.
    function automatic logic [PLW-1:0] plane_weights(input logic [LW-1:0] w, input int pl);
        plane_weights = '0;
        for (int s = 0; s < SIMD; s++) begin
            if (GAINED) begin
                plane_weights[s*PW_BITS] = 1'b1;
                plane_weights[s*PW_BITS+PW_BITS-1] = w[s*W_BITS+W_BITS-1] && (w[s*W_BITS] == (pl == 0));
            end else if (BASES != 0) begin
                plane_weights[s] = w[s*W_BITS+pl];
            end
        end
        if (!GAINED && BASES == 0) plane_weights = PLW'(w);
    endfunction

    // gain * value as shifted adds over the bits of the narrower operand (the top bit of a two's
    // complement operand negative): LUTs, not a DSP slice (the gain is read from a per-channel
    // memory). The exact grid of weight-base gains makes them wider than the plane sums, so
    // their products run over the plane's bits. Modulo 2^ACC_W, where the result is proven to fit.
    function automatic logic signed [ACC_W-1:0] times(input logic [GAIN_W-1:0] gain, input logic signed [PLANE_W-1:0] value,
                                                      input logic signed_gain);
        logic signed [ACC_W-1:0] wide_gain;
        wide_gain = signed_gain ? ACC_W'($signed(gain)) : ACC_W'(gain);
        times = '0;
        if (PLANE_W < GAIN_W) begin
            for (int j = 0; j < PLANE_W; j++)
                if (value[j]) times += (j == PLANE_W - 1) ? -(wide_gain <<< j) : wide_gain <<< j;
        end else begin
            for (int j = 0; j < GAIN_W; j++)
                if (gain[j]) times += (signed_gain && j == GAIN_W - 1) ? -(ACC_W'(value) <<< j) : ACC_W'(value) <<< j;
        end
    endfunction

    // Channel's output for accumulator a: BASE + the number of thresholds reached (a constant
    // channel's constant), or the accumulator itself (THRESHOLDED = 0).
    function automatic logic [OUT_BITS-1:0] activate(input logic signed [ACC_W-1:0] a, input int channel,
                                                     input logic [CLASS_W-1:0] cls);
        logic [OUT_BITS-1:0] level;
        level = OUT_BITS'(BASE);
        for (int j = 0; j < LEVELS; j++)
            level += OUT_BITS'(T_W'(a) >= thresholds[(int'(cls)*MH+channel)*LEVELS+j]);
        if (LEVELS == 1 && constants[channel] == 2'd1) level = OUT_BITS'(BASE + 1);
        if (LEVELS == 1 && constants[channel] == 2'd3) level = OUT_BITS'(BASE);
        activate = THRESHOLDED ? level : OUT_BITS'(a);
    endfunction

    logic signed [ACC_W-1:0] acc_next[PE];
    logic signed [PLANE_W-1:0] plane_next[PE][PLANES];
    logic [MH*OUT_BITS-1:0] result_next;
    always_comb begin
        result_next = result;
        for (int pe = 0; pe < PE; pe++) begin
            int channel;
            channel = int'(p_ctl.nf) * PE + pe;
            acc_next[pe] = p_ctl.first ? '0 : acc[pe];
            for (int g = 0; g < GROUPS; g++) acc_next[pe] += ACC_W'(p_part[pe][0][g]);
            for (int pl = 0; pl < PLANES; pl++) begin
                plane_next[pe][pl] = p_ctl.first ? '0 : plane[pe][pl];
                for (int g = 0; g < GROUPS; g++) plane_next[pe][pl] += PLANE_W'(p_part[pe][pl][g]);
            end
            if (GAINED)
                acc_next[pe] = times(gains[channel][GAIN_W-1:0], plane_next[pe][0], 1'b0)
                             - times(gains[channel][2*GAIN_W-1:GAIN_W], plane_next[pe][PLANES-1], 1'b0);
            if (BASES != 0) begin
                acc_next[pe] = '0;
                for (int pl = 0; pl < PLANES; pl++)
                    acc_next[pe] += times(gains[channel][pl*GAIN_W+:GAIN_W], plane_next[pe][pl], 1'b1);
            end
            if (p_ctl.last && RESIDUAL == 0)
                result_next[channel*OUT_BITS+:OUT_BITS] = activate(acc_next[pe], channel, threshold_class);
        end
    end

    // RESIDUAL: this cycle's partial sum sum_(j <= comb_k) G_j*P_j of each lane, and the result
    // word with the lanes' outputs when it is the last plane.
    logic signed [ACC_W-1:0] comb_sum[PE];
    logic [MH*OUT_BITS-1:0] comb_result;
    always_comb begin
        comb_result = result;
        for (int pe = 0; pe < PE; pe++) begin
            comb_sum[pe] = comb_acc[pe] + times(comb_gains[int'(comb_k)*GAIN_W+:GAIN_W], comb_planes[pe][comb_k], 1'b0);
            comb_result[(int'(comb_nf)*PE+pe)*OUT_BITS+:OUT_BITS] = activate(comb_sum[pe], int'(comb_nf) * PE + pe, '0);
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sf <= '0;
            nf <= '0;
            f_valid <= 1'b0;
            p_valid <= 1'b0;
            m_axis_tvalid <= 1'b0;
            comb_busy <= 1'b0;
            out_row <= '0;
            out_col <= '0;
            position_class <= BORDER ? CLASS_W'(int'(row_class[0]) * COL_CLASSES + int'(col_class[0])) : '0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (advance) begin
                // fetch
                f_valid <= fire;
                if (fire) begin
                    if (first_pass) begin
                        buf_data[sf] <= in_data;
                        buf_mask[sf] <= in_mask;
                    end
                    f_data <= in_data;
                    f_mask <= in_mask;
                    f_gains <= in_gains;
                    if (first_pass) vec_gains <= in_gains;
                    f_weights <= weights[tile];
                    f_ctl.first <= (sf == '0);
                    f_ctl.last <= last_sf;
                    f_ctl.nf <= nf;
                    f_ctl.last_step <= last_sf && last_nf;
                    sf <= last_sf ? '0 : sf + 1'b1;
                    if (last_sf) nf <= last_nf ? '0 : nf + 1'b1;
                end
                // partial
                p_valid <= f_valid;
                p_ctl <= f_ctl;
                p_gains <= f_gains;
                for (int pe = 0; pe < PE; pe++)
                    for (int pl = 0; pl < PLANES; pl++)
                        for (int g = 0; g < GROUPS; g++)
                            p_part[pe][pl][g] <= group_dot(plane_inputs(f_data, pl), f_mask,
                                                           plane_weights(f_weights[pe*LW+:LW], pl), g);
                // accumulate
                if (p_valid) begin
                    for (int pe = 0; pe < PE; pe++) begin
                        acc[pe] <= acc_next[pe];
                        for (int pl = 0; pl < PLANES; pl++) plane[pe][pl] <= plane_next[pe][pl];
                    end
                    if (RESIDUAL == 0) begin
                        result <= result_next;
                        if (p_ctl.last_step) begin
                            m_axis_tdata <= result_next;
                            m_axis_tvalid <= 1'b1;
                            if (BORDER) begin
                                out_row <= next_row;
                                out_col <= next_col;
                                position_class <= CLASS_W'(int'(row_class[next_row]) * COL_CLASSES + int'(col_class[next_col]));
                            end
                        end
                    end
                end
            end
            // combine (RESIDUAL): add a plane; after the last, the activations; a finished
            // row hands its planes over (after this cycle's last plane, if any)
            if (RESIDUAL != 0) begin
                if (comb_busy && !comb_blocked) begin
                    for (int pe = 0; pe < PE; pe++) comb_acc[pe] <= comb_sum[pe];
                    comb_k <= comb_k + 1'b1;
                    if (comb_final) begin
                        comb_busy <= 1'b0;
                        result <= comb_result;
                        if (comb_last_step) begin
                            m_axis_tdata <= comb_result;
                            m_axis_tvalid <= 1'b1;
                        end
                    end
                end
                if (advance && p_valid && p_ctl.last) begin
                    comb_busy <= 1'b1;
                    comb_k <= '0;
                    comb_nf <= p_ctl.nf;
                    comb_last_step <= p_ctl.last_step;
                    comb_gains <= p_gains;
                    for (int pe = 0; pe < PE; pe++) begin
                        comb_acc[pe] <= '0;
                        for (int pl = 0; pl < PLANES; pl++) comb_planes[pe][pl] <= plane_next[pe][pl];
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
