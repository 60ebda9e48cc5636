// bnnfpga streaming library: run-time residual binarization of order K (HORQ; XNOR-Net's input
// scaling at K = 1), exactly as docs/DESIGN.md 5.3 defines it.
#ifndef BNNFPGA_RESIDUAL_HPP
#define BNNFPGA_RESIDUAL_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// For each of REPS vectors of N integer elements x (read as N/SIMD chunks), with S_0 = x:
//     A_k = sum_i |S_(k-1),i|,  H_k = sign(S_(k-1)),  S_k = N*S_(k-1) - A_k*H_k   (k = 1 .. K)
// and writes the vector as N/SIMD ResidualChunks: each element's K sign codes H_1 .. H_K and
// the vector's K gains G_k = A_k * N^(K-k), so that an MVU with ResidualGains computes
// N^K * W.x^ = sum_k G_k * (W.H_k). S_k,i depends on x_i and the A's only: a histogram of the
// vector's values (counted while it loads) and K steps over the values give every A_k and
// each value's codes; the elements are then mapped through them.
//   N, SIMD        elements per vector and per chunk (SIMD divides N)
//   IN_BITS, IN_SIGNED, IN_BIPOLAR  input element type: 1- to 4-bit levels, or ±1 (bit 1 = +1,
//                  padding 0)
//   ORDER          K, 1 to 8
//   S_W, GAIN_W    bits of the scaled residuals S_k (k < K, two's complement: N^(K-1)*max|x|)
//                  and of the sums and gains (unsigned: N^K*max|x|)
//   GAIN_SHIFT     F: the gains leave as floor(G_k / 2^F), GAIN_W - F bits (fixed-point beta where
//                  the exact sum would not fit the MVU's accumulator); 0 to GAIN_W - 1
//   REPS           vectors per frame
template <unsigned N, unsigned SIMD, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, unsigned ORDER, unsigned S_W,
          unsigned GAIN_W, unsigned GAIN_SHIFT, unsigned REPS>
void residual_binarizer(hls::stream<Chunk<SIMD, IN_BITS> > &in,
                        hls::stream<ResidualChunk<SIMD, ORDER, GAIN_W - GAIN_SHIFT> > &out) {
    static_assert(GAIN_SHIFT < GAIN_W, "residual_binarizer: GAIN_SHIFT must leave at least one gain bit");
    const unsigned SF = N / SIMD;
    const unsigned OUT_GAIN_W = GAIN_W - GAIN_SHIFT;
    // histogram bins: a value each; bipolar: {valid, bit}, so that padding (0) has its own bin
    static const unsigned BIN_BITS = IN_BIPOLAR ? 2 : IN_BITS;
    static const unsigned V = 1u << BIN_BITS;
    typedef ap_int<GAIN_W + 2> wide_t;
    for (unsigned rep = 0; rep < REPS; rep++) {
        ap_uint<BIN_BITS> bins[SF][SIMD];
        ap_uint<CountBits<N>::value> count[V];
#pragma HLS ARRAY_PARTITION variable = count complete
        for (unsigned v = 0; v < V; v++) {
#pragma HLS UNROLL
            count[v] = 0;
        }
        for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
            const Chunk<SIMD, IN_BITS> chunk = in.read();
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                ap_uint<BIN_BITS> bin = 0;
                if (chunk.valid[s]) {
                    bin = IN_BIPOLAR ? (ap_uint<BIN_BITS>)(chunk.data[s] ? 3 : 2)
                                     : (ap_uint<BIN_BITS>)chunk.data.range(s * IN_BITS + IN_BITS - 1, s * IN_BITS);
                }
                bins[sf][s] = bin;
                count[bin]++;
            }
        }
        // the value of each bin, then K steps over the values
        ap_int<S_W> residual[V];
        ap_uint<2 * ORDER> codes[V];
        for (unsigned v = 0; v < V; v++) {
#pragma HLS UNROLL
            if (IN_BIPOLAR) {
                residual[v] = v == 3 ? 1 : v == 2 ? -1 : 0;
            } else if (IN_SIGNED) {
                residual[v] = (ap_int<BIN_BITS>)(ap_uint<BIN_BITS>)v;
            } else {
                residual[v] = v;
            }
            codes[v] = 0;
        }
        ap_uint<GAIN_W> sums[ORDER];
        for (unsigned k = 0; k < ORDER; k++) {
            ap_uint<GAIN_W> sum = 0;
            for (unsigned v = 0; v < V; v++) {
#pragma HLS UNROLL
                const ap_uint<S_W> magnitude = residual[v] < 0 ? (ap_uint<S_W>)(-residual[v]) : (ap_uint<S_W>)residual[v];
                const ap_uint<GAIN_W> product = (ap_uint<GAIN_W>)count[v] * magnitude;
#pragma HLS BIND_OP variable = product op = mul impl = fabric
                sum += product;
            }
            sums[k] = sum;
            for (unsigned v = 0; v < V; v++) {
#pragma HLS UNROLL
                const int sign = residual[v] > 0 ? 1 : residual[v] < 0 ? -1 : 0;
                codes[v].range(2 * k + 1, 2 * k) = sign > 0 ? 1 : sign < 0 ? 3 : 0;
                wide_t next = (wide_t)N * (wide_t)residual[v];  // a constant: shift-adds
                if (sign > 0) next -= (wide_t)sum;
                if (sign < 0) next += (wide_t)sum;
                residual[v] = (ap_int<S_W>)next;  // fits: |S_k| <= N^k*max|x| (unused after k = K - 1)
            }
        }
        ap_uint<ORDER * OUT_GAIN_W> gains = 0;
        ap_uint<GAIN_W> power = 1;  // N^(K-1-k), from the last plane down
        for (int k = ORDER - 1; k >= 0; k--) {
#pragma HLS UNROLL
            const ap_uint<GAIN_W> gain = sums[k] * power;
#pragma HLS BIND_OP variable = gain op = mul impl = fabric
            gains.range(k * OUT_GAIN_W + OUT_GAIN_W - 1, k * OUT_GAIN_W) = gain >> GAIN_SHIFT;
            power = (ap_uint<GAIN_W>)(power * N);
        }
        for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
            ResidualChunk<SIMD, ORDER, OUT_GAIN_W> chunk;
            chunk.valid = ~ap_uint<SIMD>(0);  // padding is a zero code
            chunk.gains = gains;
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                chunk.data.range(s * 2 * ORDER + 2 * ORDER - 1, s * 2 * ORDER) = codes[bins[sf][s]];
            }
            out.write(chunk);
        }
    }
}

}  // namespace bnnfpga

#endif
