// bnnfpga streaming library: matrix-vector unit with thresholds (docs/DESIGN.md 3.1-3.4, 4).
#ifndef BNNFPGA_MVU_HPP
#define BNNFPGA_MVU_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// 2 * popcount(agree) - popcount(valid): the dot product of ±1 values over the valid elements,
// agree marking the valid ones whose signs match (docs/DESIGN.md 3.1, 3.5).
template <unsigned SIMD, unsigned ACC_W>
ap_int<ACC_W> masked_xnor_dot(ap_uint<SIMD> agree, ap_uint<SIMD> valid) {
    ap_uint<CountBits<SIMD>::value + 1> matches = 0, counted = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        matches += agree[s];
        counted += valid[s];
    }
    return (ap_int<ACC_W>)(2 * (ap_int<CountBits<SIMD>::value + 3>)matches - (ap_int<CountBits<SIMD>::value + 3>)counted);
}

// Products policies: what computes the w·x products of k-bit two's complement weights on
// integer inputs (ChunkDot), as the folding chose (docs/DESIGN.md 4.4). The other engines count,
// add ±x or shift, and never multiply per element.
struct FabricProducts {  // LUTs: shift-adds
    template <unsigned P_W, unsigned A_W, unsigned B_W>
    static ap_int<P_W> multiply(ap_int<A_W> a, ap_int<B_W> b) {
        const ap_int<P_W> product = a * b;
#pragma HLS BIND_OP variable = product op = mul impl = fabric
        return product;
    }
};

struct DspProducts {  // a DSP48 slice per product
    template <unsigned P_W, unsigned A_W, unsigned B_W>
    static ap_int<P_W> multiply(ap_int<A_W> a, ap_int<B_W> b) {
        const ap_int<P_W> product = a * b;
#pragma HLS BIND_OP variable = product op = mul impl = dsp
        return product;
    }
};

// A k-bit weight code (W_BITS >= 3): two's complement, or with POW2 (power-of-two weights, INQ)
// bit 0 the sign (1 = +), bits [1, W_BITS - 1) the exponent e of |w| = 2^e and bit W_BITS - 1
// set for a non-zero weight (docs/DESIGN.md 3.11).
//   W_BITS   bits per code
//   POW2     power-of-two code rather than two's complement
template <unsigned W_BITS, bool POW2>
struct WeightCode {
    // bits of the signed value: 2^(W_BITS-2) exponents reach 2^(2^(W_BITS-2) - 1)
    static const unsigned VALUE_W = POW2 ? (1u << (W_BITS - 2)) + 1 : W_BITS;

    static ap_int<VALUE_W> value(ap_uint<W_BITS> code) {
        if (!POW2) return (ap_int<W_BITS>)code;
        const ap_int<VALUE_W> magnitude = (ap_int<VALUE_W>)1 << (unsigned)code.range(W_BITS - 2, 1);
        return !code[W_BITS - 1] ? (ap_int<VALUE_W>)0 : code[0] ? magnitude : (ap_int<VALUE_W>)(-magnitude);
    }

    // x * w: for power-of-two codes a shift of x by the exponent (no multiplier), for two's
    // complement a product where PRODUCTS (FabricProducts or DspProducts) binds it.
    template <unsigned BITS, typename PRODUCTS>
    static ap_int<BITS + VALUE_W + 1> times(ap_int<BITS + 1> x, ap_uint<W_BITS> code) {
        if (POW2) {
            const ap_int<BITS + VALUE_W + 1> shifted = (ap_int<BITS + VALUE_W + 1>)x << (unsigned)code.range(W_BITS - 2, 1);
            return !code[W_BITS - 1] ? (ap_int<BITS + VALUE_W + 1>)0 : code[0] ? shifted : (ap_int<BITS + VALUE_W + 1>)(-shifted);
        }
        return PRODUCTS::template multiply<BITS + VALUE_W + 1, BITS + 1, VALUE_W>(x, value(code));
    }
};

// Sum over the valid elements of +w or -w (sign 1: +w), for k-bit weight codes (W_BITS >= 3 at
// bits [s*W_BITS, (s+1)*W_BITS), see WeightCode) on ±1 or ternary inputs: an adder per element
// rather than W_BITS popcounts of weight planes.
template <unsigned SIMD, unsigned W_BITS, bool W_POW2, unsigned ACC_W>
ap_int<ACC_W> signed_weight_sum(ap_uint<SIMD> sign, ap_uint<SIMD> valid, ap_uint<SIMD * W_BITS> w) {
    typedef WeightCode<W_BITS, W_POW2> Code;
    ap_int<ACC_W> sum = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        const ap_int<Code::VALUE_W + 1> weight = Code::value(w.range(s * W_BITS + W_BITS - 1, s * W_BITS));
        if (valid[s]) sum += sign[s] ? weight : (ap_int<Code::VALUE_W + 1>)(-weight);
    }
    return sum;
}

// Dot product of one chunk with one weight chunk. Weight element s is at bits
// [s*W_BITS, (s+1)*W_BITS): for ±1 and ternary weights (W_BITS 1, 2) bit 0 its sign (1 = +1,
// 0 = -1), and for ternary weights bit 1 set when it is non-zero (a zero weight drops its
// element); k-bit weights (W_BITS >= 3) are WeightCode<W_BITS, W_POW2> codes.
//   SIMD      elements per chunk
//   BITS      bits per input element
//   SIGNED    integer inputs are two's complement (the output of an IntegerAffine, k-bit levels)
//   BIPOLAR   inputs are bipolar (BITS = 1, bit 1 = +1, bit 0 = -1) rather than integers
//   TERNARY   inputs are ternary levels (BITS = 2, two's complement -1, 0, +1): popcounts as bipolar
//   W_BITS    bits per weight: 1 (±1), 2 (ternary) or 3 and more (two's complement or powers of two)
//   W_POW2    k-bit weights are power-of-two codes (INQ), not two's complement
//   ACC_W     accumulator width
//   PRODUCTS  FabricProducts or DspProducts: what computes k-bit weights' products on integers
template <unsigned SIMD, unsigned BITS, bool SIGNED, bool BIPOLAR, bool TERNARY, unsigned W_BITS, bool W_POW2, unsigned ACC_W,
          typename PRODUCTS>
struct ChunkDot {
    // Integers: sum of +x where w = +1, -x where w = -1, w·x for k-bit weights (padding is 0
    // and adds nothing).
    static ap_int<ACC_W> apply(const Chunk<SIMD, BITS> &in, ap_uint<SIMD * W_BITS> w) {
        ap_int<ACC_W> sum = 0;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            ap_int<BITS + 1> x;
            if (SIGNED) {
                x = (ap_int<BITS>)in.data.range(s * BITS + BITS - 1, s * BITS);
            } else {
                x = (ap_uint<BITS>)in.data.range(s * BITS + BITS - 1, s * BITS);
            }
            if (W_BITS > 2) {
                sum += WeightCode<W_BITS, W_POW2>::template times<BITS, PRODUCTS>(x, w.range(s * W_BITS + W_BITS - 1, s * W_BITS));
                continue;
            }
            const bool nonzero = W_BITS == 1 || w[s * W_BITS + W_BITS - 1];
            if (nonzero) sum += w[s * W_BITS] ? (ap_int<BITS + 2>)x : (ap_int<BITS + 2>)(-x);
        }
        return sum;
    }
};

template <unsigned SIMD, bool SIGNED, unsigned W_BITS, bool W_POW2, unsigned ACC_W, typename PRODUCTS>
struct ChunkDot<SIMD, 1, SIGNED, true, false, W_BITS, W_POW2, ACC_W, PRODUCTS> {
    // Bipolar: 2 * popcount(valid & XNOR(x, w)) - popcount(valid); a zero weight is not valid.
    static ap_int<ACC_W> apply(const Chunk<SIMD, 1> &in, ap_uint<SIMD * W_BITS> w) {
        if (W_BITS > 2) return signed_weight_sum<SIMD, W_BITS, W_POW2, ACC_W>(in.data, in.valid, w);
        ap_uint<SIMD> sign = (ap_uint<SIMD>)w, nonzero = ~ap_uint<SIMD>(0);
        if (W_BITS == 2) {
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                sign[s] = w[2 * s];
                nonzero[s] = w[2 * s + 1];
            }
        }
        const ap_uint<SIMD> valid = in.valid & nonzero;
        const ap_uint<SIMD> agree = ~(in.data ^ sign) & valid;
        return masked_xnor_dot<SIMD, ACC_W>(agree, valid);
    }
};

template <unsigned SIMD, bool SIGNED, unsigned W_BITS, bool W_POW2, unsigned ACC_W, typename PRODUCTS>
struct ChunkDot<SIMD, 2, SIGNED, false, true, W_BITS, W_POW2, ACC_W, PRODUCTS> {
    // Ternary inputs (01 = +1, 11 = -1, 00 = 0): 2 * popcount(valid & XNOR(sign_x, sign_w)) -
    // popcount(valid), valid where neither the input nor the weight is zero (nor padding).
    static ap_int<ACC_W> apply(const Chunk<SIMD, 2> &in, ap_uint<SIMD * W_BITS> w) {
        ap_uint<SIMD> x_sign, w_sign, valid;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            x_sign[s] = !in.data[2 * s + 1];
            w_sign[s] = w[s * W_BITS];
            const bool w_nonzero = W_BITS != 2 || w[s * W_BITS + 1];
            valid[s] = in.valid[s] && in.data[2 * s] && w_nonzero;
        }
        if (W_BITS > 2) return signed_weight_sum<SIMD, W_BITS, W_POW2, ACC_W>(x_sign, valid, w);
        const ap_uint<SIMD> agree = ~(x_sign ^ w_sign) & valid;
        return masked_xnor_dot<SIMD, ACC_W>(agree, valid);
    }
};

// One weight chunk of BITS bits from its WORDS memory words (word i holds bits [64i, 64i + 64)).
// The weight memories hold plain unsigned integers rather than ap_uint: g++ compiles a large
// constant table of integers in a second, one of ap_uint objects (a constructor each, run at
// start-up) in minutes. Synthesis keeps only the BITS bits read.
template <unsigned BITS, unsigned WORDS, typename WORD>
ap_uint<BITS> weight_chunk(const WORD words[WORDS]) {
    ap_uint<64 * WORDS> all = 0;
    for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS UNROLL
        all.range(64 * i + 63, 64 * i) = (ap_uint<64>)words[i];
    }
    return all.range(BITS - 1, 0);
}

// Gains policies say how many dot products (planes) a lane computes per chunk, with which
// weights (plane<LW, PLW>(w, p): the PLANE_W_BITS-bit weights of plane p from a weight chunk w;
// PLANE_W_BITS = 0: the weight codes themselves) and which inputs (input(chunk, p): the chunk
// itself, but for residual planes), and how combine() makes them one accumulator (given the
// vector's first chunk, which carries per-vector gains where there are any).

// Gains policy of an MVU without gains: one dot product per lane and chunk, the accumulator
// itself.
struct NoGains {
    static const unsigned PLANES = 1;
    static const unsigned PLANE_W = 0;  // the sums are the accumulators (ACC_W)
    static const unsigned PLANE_W_BITS = 0;

    template <unsigned LW, unsigned PLW>
    static ap_uint<PLW> plane(ap_uint<LW> w, unsigned) {
        return w;
    }

    template <typename C>
    static const C &input(const C &chunk, unsigned) {
        return chunk;
    }

    template <unsigned ACC_W, unsigned SUM_W, typename C>
    ap_int<ACC_W> combine(unsigned, unsigned, const ap_int<SUM_W> sums[PLANES], const C &) const {
        return sums[0];
    }
};

// Gains policy of asymmetric ternary rows (TTQ): the accumulator of a row is A*P - B*N, P and N
// the sums of the inputs where its weight is +1 and -1 (two dot products per lane and chunk with
// the weight planes as ternary codes) and A, B its integer gains.
//   PE, NF    output lanes and neuron folds (channel = nf * PE + pe)
//   SUMS_W    width of P and N
//   GAIN_W    bits per unsigned gain
template <unsigned PE, unsigned NF, unsigned SUMS_W, unsigned GAIN_W>
struct PlaneGains {
    static const unsigned PLANES = 2;
    static const unsigned PLANE_W = SUMS_W;
    static const unsigned PLANE_W_BITS = 0;
    ap_uint<GAIN_W> positive[PE][NF];  // A
    ap_uint<GAIN_W> negative[PE][NF];  // B

    // The ternary weights (2 bits each: sign, non-zero) of plane p: +1 where the weight is +1
    // (p = 0) or -1 (p = 1), else 0.
    template <unsigned LW, unsigned PLW>
    static ap_uint<PLW> plane(ap_uint<LW> w, unsigned p) {
        ap_uint<LW> codes = 0;
        for (unsigned s = 0; s < LW / 2; s++) {
#pragma HLS UNROLL
            codes[2 * s] = 1;
            codes[2 * s + 1] = w[2 * s + 1] && (w[2 * s] == (p == 0));
        }
        return codes;
    }

    template <typename C>
    static const C &input(const C &chunk, unsigned) {
        return chunk;
    }

    template <unsigned ACC_W, unsigned SUM_W, typename C>
    ap_int<ACC_W> combine(unsigned pe, unsigned nf, const ap_int<SUM_W> sums[PLANES], const C &) const {
        // gains come from a per-channel table: LUT multipliers, as the rest of the MVU
        const ap_int<ACC_W> a = positive[pe][nf] * sums[0];
#pragma HLS BIND_OP variable = a op = mul impl = fabric
        const ap_int<ACC_W> b = negative[pe][nf] * sums[1];
#pragma HLS BIND_OP variable = b op = mul impl = fabric
        return a - b;
    }
};

// Gains policy of binary weight bases (ABC-Net, docs/DESIGN.md 5.2): weight element s holds the
// signs of its M bases (bit i = base i, 1 = +1); plane i is the ±1 dot product P_i with base i,
// and the accumulator of a row is sum_i C_i * P_i with its signed integer gains C_i.
//   PE, NF    output lanes and neuron folds (channel = nf * PE + pe)
//   M         weight bases, 2 to 8
//   SUMS_W    width of the plane sums P_i
//   GAIN_W    bits per two's complement gain
template <unsigned PE, unsigned NF, unsigned M, unsigned SUMS_W, unsigned GAIN_W>
struct BaseGains {
    static const unsigned PLANES = M;
    static const unsigned PLANE_W = SUMS_W;
    static const unsigned PLANE_W_BITS = 1;
    ap_int<GAIN_W> gain[PE][NF][M];  // C_i

    // The ±1 weights of base p: bit p of each M-bit element.
    template <unsigned LW, unsigned PLW>
    static ap_uint<PLW> plane(ap_uint<LW> w, unsigned p) {
        ap_uint<PLW> signs = 0;
        for (unsigned s = 0; s < PLW; s++) {
#pragma HLS UNROLL
            signs[s] = w[s * M + p];
        }
        return signs;
    }

    template <typename C>
    static const C &input(const C &chunk, unsigned) {
        return chunk;
    }

    template <unsigned ACC_W, unsigned SUM_W, typename C>
    ap_int<ACC_W> combine(unsigned pe, unsigned nf, const ap_int<SUM_W> sums[PLANES], const C &) const {
        ap_int<ACC_W> acc = 0;
        for (unsigned p = 0; p < M; p++) {
#pragma HLS UNROLL
            // gains come from a per-channel table: LUT multipliers, as the rest of the MVU
            const ap_int<ACC_W> term = gain[pe][nf][p] * sums[p];
#pragma HLS BIND_OP variable = term op = mul impl = fabric
            acc += term;
        }
        return acc;
    }
};

// Gains policy of residual planes (HORQ, docs/DESIGN.md 5.3): the input chunks are
// ResidualChunk<SIMD, K, GAIN_W> (the output of residual_binarizer); plane p is the dot product
// P_p of the weights with the elements' sign codes of plane p (ternary inputs), and the
// accumulator of a row is sum_p G_p * P_p with the vector's unsigned gains G_p.
//   K         planes (the binarization's order), 1 to 8
//   SUMS_W    width of the plane sums P_p
//   GAIN_W    bits per gain
template <unsigned K, unsigned SUMS_W, unsigned GAIN_W>
struct ResidualGains {
    static const unsigned PLANES = K;
    static const unsigned PLANE_W = SUMS_W;
    static const unsigned PLANE_W_BITS = 0;

    template <unsigned LW, unsigned PLW>
    static ap_uint<PLW> plane(ap_uint<LW> w, unsigned) {
        return w;
    }

    // The 2-bit sign codes of plane p, as a chunk of ternary inputs.
    template <unsigned SIMD>
    static Chunk<SIMD, 2> input(const ResidualChunk<SIMD, K, GAIN_W> &chunk, unsigned p) {
        Chunk<SIMD, 2> codes;
        codes.valid = chunk.valid;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            codes.data.range(2 * s + 1, 2 * s) = chunk.data.range(s * 2 * K + 2 * p + 1, s * 2 * K + 2 * p);
        }
        return codes;
    }

    template <unsigned ACC_W, unsigned SUM_W, unsigned SIMD>
    ap_int<ACC_W> combine(unsigned, unsigned, const ap_int<SUM_W> sums[PLANES],
                          const ResidualChunk<SIMD, K, GAIN_W> &first) const {
        ap_int<ACC_W> acc = 0;
        for (unsigned p = 0; p < K; p++) {
#pragma HLS UNROLL
            // a multiplier per plane, inside the MVU's II = 1 loop (the RTL shares one over K
            // cycles instead); the gains are data: LUT multipliers, as the rest of the MVU
            const ap_int<GAIN_W + 1> gain = (ap_uint<GAIN_W>)first.gains.range(p * GAIN_W + GAIN_W - 1, p * GAIN_W);
            const ap_int<ACC_W> term = gain * sums[p];
#pragma HLS BIND_OP variable = term op = mul impl = fabric
            acc += term;
        }
        return acc;
    }
};

// Activations are policies with activate(pe, nf, rep, acc): lane pe of neuron fold nf, at
// output position rep (the vector's index in the frame), with accumulator acc.

// Activation: one threshold per channel (bipolar out) or a constant channel.
//   PE, NF   output lanes and neuron folds (channel = nf * PE + pe)
//   T_W      threshold width (accumulator width + 1: a threshold may be max + 1)
template <unsigned PE, unsigned NF, unsigned T_W>
struct ThresholdActivation {
    static const unsigned OUT_BITS = 1;
    ap_int<T_W> threshold[PE][NF];
    ap_int<2> constant[PE][NF];  // 0: use the threshold; +1/-1: the channel is constant

    template <unsigned ACC_W>
    ap_uint<1> activate(unsigned pe, unsigned nf, unsigned, ap_int<ACC_W> acc) const {
        const ap_int<2> c = constant[pe][nf];
        if (c != 0) return c > 0 ? 1 : 0;
        return acc >= threshold[pe][nf] ? 1 : 0;
    }
};

// Activation: k-bit levels, BASE + the number of the channel's LEVELS thresholds reached
// (MultiThreshold semantics, docs/DESIGN.md 3.3), as OUT_BITS bits (two's complement).
//   PE, NF     output lanes and neuron folds (channel = nf * PE + pe)
//   T_W        threshold width
//   LEVELS     thresholds per channel, sorted ascending
//   BITS_OUT   bits per output element
//   BASE       the output when no threshold is reached (0 unsigned, negative signed)
template <unsigned PE, unsigned NF, unsigned T_W, unsigned LEVELS, unsigned BITS_OUT, int BASE>
struct LevelActivation {
    static const unsigned OUT_BITS = BITS_OUT;
    ap_int<T_W> threshold[PE][NF][LEVELS];

    template <unsigned ACC_W>
    ap_uint<BITS_OUT> activate(unsigned pe, unsigned nf, unsigned, ap_int<ACC_W> acc) const {
        ap_int<BITS_OUT + 2> level = BASE;
        for (unsigned j = 0; j < LEVELS; j++) {
#pragma HLS UNROLL
            level += acc >= threshold[pe][nf][j] ? 1 : 0;
        }
        return (ap_uint<BITS_OUT>)level;
    }
};

// Activation: LevelActivation with thresholds per border class of the output position
// (docs/DESIGN.md 3.4: an input offset reaches the border positions of a zero-padded
// convolution through fewer taps). Position rep = row * OUT_W + col has the class
// row_class[row] * COL_CLASSES + col_class[col]. Bipolar outputs are LEVELS = 1, BITS_OUT = 1,
// BASE = 0 (bit 1 = +1).
//   PE, NF, T_W, LEVELS, BITS_OUT, BASE   as LevelActivation
//   OUT_H, OUT_W   output rows and columns of the convolution
//   CLASSES        threshold sets (row classes x column classes)
//   COL_CLASSES    column classes
template <unsigned PE, unsigned NF, unsigned T_W, unsigned LEVELS, unsigned BITS_OUT, int BASE, unsigned OUT_H, unsigned OUT_W,
          unsigned CLASSES, unsigned COL_CLASSES>
struct BorderLevelActivation {
    static const unsigned OUT_BITS = BITS_OUT;
    ap_int<T_W> threshold[PE][CLASSES][NF][LEVELS];
    unsigned char row_class[OUT_H];
    unsigned char col_class[OUT_W];

    template <unsigned ACC_W>
    ap_uint<BITS_OUT> activate(unsigned pe, unsigned nf, unsigned rep, ap_int<ACC_W> acc) const {
        const unsigned position_class = row_class[rep / OUT_W] * COL_CLASSES + col_class[rep % OUT_W];
        ap_int<BITS_OUT + 2> level = BASE;
        for (unsigned j = 0; j < LEVELS; j++) {
#pragma HLS UNROLL
            level += acc >= threshold[pe][position_class][nf][j] ? 1 : 0;
        }
        return (ap_uint<BITS_OUT>)level;
    }
};

// Activation: the accumulator itself, as int32 (last layer; docs/DESIGN.md 3.7).
struct AccumulatorOutput {
    static const unsigned OUT_BITS = 32;

    template <unsigned ACC_W>
    ap_int<32> activate(unsigned, unsigned, unsigned, ap_int<ACC_W> acc) const {
        return (ap_int<32>)acc;
    }
};

// Matrix-vector unit: for each of REPS input vectors of MW elements (read as MW/SIMD
// chunks), computes MH dot products with ±1, ternary, k-bit or power-of-two weight rows, PE rows at a time and
// SIMD elements per cycle, and writes one word of MH activations (ACT::OUT_BITS bits each).
// Cycles per vector: (MH/PE) * (MW/SIMD) (docs/DESIGN.md 4).
//   MW, MH        vector length and output channels
//   SIMD, PE      input elements per cycle (divides MW), output lanes (divides MH)
//   IN_BITS, IN_SIGNED, IN_BIPOLAR, IN_TERNARY  input element type (see ChunkDot)
//   W_BITS        bits per weight: 1 (±1), 2 (ternary), 3+ (k-bit codes; see ChunkDot)
//   W_POW2        k-bit weights are power-of-two codes (INQ; see WeightCode)
//   ACC_W         accumulator width, proven by the compiler (docs/DESIGN.md 3.8)
//   REPS          vectors per frame (output positions of a convolution, 1 for a dense layer)
//   PRODUCTS      FabricProducts or DspProducts (see ChunkDot)
//   ACT           ThresholdActivation, LevelActivation, BorderLevelActivation or AccumulatorOutput
//   GAINS         NoGains, PlaneGains for asymmetric ternary rows (W_BITS = 2), BaseGains
//                 for binary weight bases (W_BITS = M), or ResidualGains for the planes of a
//                 residual binarizer (IN_BITS = 2, IN_TERNARY: the type of one plane)
//   WORD, WORDS   the weight memory's word type (an unsigned integer) and words per chunk
//                 (see weight_chunk), deduced from the weights
//   IN            the input chunk type, deduced: Chunk<SIMD, IN_BITS>, or ResidualChunk
// weights[pe][nf * (MW/SIMD) + sf] holds elements sf*SIMD ... of row nf*PE + pe.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, bool IN_TERNARY,
          unsigned W_BITS, bool W_POW2, unsigned ACC_W, unsigned REPS, typename PRODUCTS, typename ACT, typename GAINS, typename WORD,
          unsigned WORDS,
          typename IN>
void mvu(hls::stream<IN> &in, hls::stream<ap_uint<MH * ACT::OUT_BITS> > &out,
         const WORD weights[PE][(MH / PE) * (MW / SIMD)][WORDS], const ACT &act, const GAINS &gains) {
    const unsigned SF = MW / SIMD, NF = MH / PE;
    const unsigned PLANES = GAINS::PLANES;
    static const unsigned SUM_W = GAINS::PLANE_W ? GAINS::PLANE_W : ACC_W;
    // bits per element of the weights one plane reads
    static const unsigned PW_BITS = GAINS::PLANE_W_BITS ? GAINS::PLANE_W_BITS : W_BITS;
    IN buffer[SF];
    ap_int<SUM_W> acc[PE][PLANES];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    ap_uint<MH * ACT::OUT_BITS> result = 0;
    // One loop over every chunk of every pass of every vector, pipelined at II = 1 (as
    // finn-hlslib's MVU): nested rep/nf/sf loops would drain the pipeline at the end of each
    // row, adding its depth to every MW/SIMD cycles. The counters stand in for the loop indices.
    unsigned sf = 0, nf = 0, rep = 0;
    for (unsigned step = 0; step < REPS * NF * SF; step++) {
#pragma HLS PIPELINE II = 1
        IN chunk;
        if (nf == 0) {
            chunk = in.read();
            buffer[sf] = chunk;
        } else {
            chunk = buffer[sf];
        }
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            const ap_uint<SIMD * W_BITS> w = weight_chunk<SIMD * W_BITS, WORDS>(weights[pe][nf * SF + sf]);
            for (unsigned p = 0; p < PLANES; p++) {
#pragma HLS UNROLL
                const ap_int<SUM_W> dot = ChunkDot<SIMD, IN_BITS, IN_SIGNED, IN_BIPOLAR, IN_TERNARY, PW_BITS, W_POW2, SUM_W, PRODUCTS>::apply(
                    GAINS::input(chunk, p), GAINS::template plane<SIMD * W_BITS, SIMD * PW_BITS>(w, p));
                acc[pe][p] = sf == 0 ? dot : (ap_int<SUM_W>)(acc[pe][p] + dot);
            }
        }
        if (sf == SF - 1) {
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                const unsigned channel = nf * PE + pe;
                result.range((channel + 1) * ACT::OUT_BITS - 1, channel * ACT::OUT_BITS) =
                    act.template activate<ACC_W>(pe, nf, rep, gains.template combine<ACC_W, SUM_W>(pe, nf, acc[pe], buffer[0]));
            }
            if (nf == NF - 1) out.write(result);
        }
        if (++sf == SF) {
            sf = 0;
            if (++nf == NF) {
                nf = 0;
                rep++;
            }
        }
    }
}

}  // namespace bnnfpga

#endif
