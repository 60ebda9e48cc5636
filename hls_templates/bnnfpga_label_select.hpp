// bnnfpga streaming library: label select (docs/DESIGN.md 3.13).
#ifndef BNNFPGA_LABEL_SELECT_HPP
#define BNNFPGA_LABEL_SELECT_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// For each vector of VALUES signed accumulators, one word of the K best indices: the K
// largest values (LARGEST; else the K smallest), best first at bits [0, INDEX_BITS); equal
// values keep index order (the lower index first), as ONNX ArgMax and TopK break ties. The
// values are inserted one per cycle into a sorted list of K slots.
//   VALUES       values per vector (the classes)
//   K            indices per output word, 1..VALUES
//   IN_BITS      bits per input value (two's complement)
//   LARGEST      the largest first (else the smallest: a negative output scale)
//   INDEX_BITS   bits per index
//   WORDS        vectors per frame
template <unsigned VALUES, unsigned K, unsigned IN_BITS, bool LARGEST, unsigned INDEX_BITS, unsigned WORDS>
void label_select(hls::stream<ap_uint<VALUES * IN_BITS> > &in, hls::stream<ap_uint<K * INDEX_BITS> > &out) {
    static_assert(K >= 1 && K <= VALUES, "label_select: K must be 1..VALUES");
    static_assert((VALUES - 1) >> INDEX_BITS == 0, "label_select: INDEX_BITS too narrow");
    for (unsigned w = 0; w < WORDS; w++) {
        const ap_uint<VALUES * IN_BITS> vector = in.read();
        ap_int<IN_BITS + 1> key[K];
        ap_uint<INDEX_BITS> label[K];
        bool filled[K];
#pragma HLS ARRAY_PARTITION variable = key complete
#pragma HLS ARRAY_PARTITION variable = label complete
#pragma HLS ARRAY_PARTITION variable = filled complete
        for (unsigned j = 0; j < K; j++) {
#pragma HLS UNROLL
            filled[j] = false;
        }
        for (unsigned v = 0; v < VALUES; v++) {
#pragma HLS PIPELINE II = 1
            const ap_int<IN_BITS> value = (ap_int<IN_BITS>)vector.range(v * IN_BITS + IN_BITS - 1, v * IN_BITS);
            const ap_int<IN_BITS + 1> candidate = LARGEST ? (ap_int<IN_BITS + 1>)value : (ap_int<IN_BITS + 1>)(-value);
            bool worse_before = false;  // some slot in front of j is worse: j takes its predecessor
            ap_int<IN_BITS + 1> carry_key = candidate;
            ap_uint<INDEX_BITS> carry_label = v;
            bool carry_filled = true;
            for (unsigned j = 0; j < K; j++) {
#pragma HLS UNROLL
                const bool worse = !filled[j] || candidate > key[j];  // strictly: ties stay ahead
                if (worse || worse_before) {
                    const ap_int<IN_BITS + 1> k0 = key[j];
                    const ap_uint<INDEX_BITS> l0 = label[j];
                    const bool f0 = filled[j];
                    key[j] = carry_key;
                    label[j] = carry_label;
                    filled[j] = carry_filled;
                    carry_key = k0;
                    carry_label = l0;
                    carry_filled = f0;
                    worse_before = true;
                }
            }
        }
        ap_uint<K * INDEX_BITS> word = 0;
        for (unsigned j = 0; j < K; j++) {
#pragma HLS UNROLL
            word.range(j * INDEX_BITS + INDEX_BITS - 1, j * INDEX_BITS) = label[j];
        }
        out.write(word);
    }
}

}  // namespace bnnfpga

#endif
