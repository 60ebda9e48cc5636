// bnnfpga streaming library: common types.
//
// Streams between engines carry whole pixels: ap_uint<C*BITS> with channel c at bits
// [c*BITS, (c+1)*BITS), the layout of bnnfpga/hw/streams.py. Matrix-vector units read
// Chunk<SIMD, BITS>: SIMD elements of a patch vector plus a validity mask that is 0 where
// the element is zero padding (docs/DESIGN.md 3.5).
#ifndef BNNFPGA_TYPES_HPP
#define BNNFPGA_TYPES_HPP

// Whole pixels and output vectors travel as one ap_uint: allow the widest ap_int there is.
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 32768
#endif
#include <ap_int.h>
#include <hls_stream.h>

#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define BNNFPGA_HAVE_AXI_SDATA 1
#endif
#endif

#ifndef BNNFPGA_HAVE_AXI_SDATA
// C simulation without Vitis headers: the fields of ap_axiu that the accelerator uses.
template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
#endif

namespace bnnfpga {

// SIMD elements of BITS bits each, and which of them are real (not padding).
template <unsigned SIMD, unsigned BITS>
struct Chunk {
    ap_uint<SIMD * BITS> data;
    ap_uint<SIMD> valid;
};

// A chunk of a residual binarization's output (docs/DESIGN.md 5.3): SIMD elements of K 2-bit
// sign codes each (plane p of element s at bits [s*2K + 2p, s*2K + 2p + 2): 01 = +1, 11 = -1,
// 00 = 0), which of them are real, and the vector's K gains (gain p at bits
// [p*GAIN_W, (p+1)*GAIN_W)), the same in every chunk of the vector.
template <unsigned SIMD, unsigned K, unsigned GAIN_W>
struct ResidualChunk {
    ap_uint<SIMD * 2 * K> data;
    ap_uint<SIMD> valid;
    ap_uint<K * GAIN_W> gains;
};

// Bits needed to count up to N (N >= 1).
template <unsigned N>
struct CountBits {
    static const unsigned value = N < 2 ? 1 : 1 + CountBits<N / 2>::value;
};
template <>
struct CountBits<0> {
    static const unsigned value = 1;
};

}  // namespace bnnfpga

#endif
