// bnnfpga streaming library: the forks and joins of a branching network (docs/DESIGN.md 3.15).
#ifndef BNNFPGA_JOINS_HPP
#define BNNFPGA_JOINS_HPP

#include "bnnfpga_io.hpp"

namespace bnnfpga {

// Every pixel of one stream to two (a tensor read by two layers).
//   WIDTH     bits per pixel
//   PIXELS    pixels per frame
template <unsigned WIDTH, unsigned PIXELS>
void fork_stream(hls::stream<ap_uint<WIDTH> > &in, hls::stream<ap_uint<WIDTH> > &out0, hls::stream<ap_uint<WIDTH> > &out1) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<WIDTH> x = in.read();
        out0.write(x);
        out1.write(x);
    }
}

// out_c = (a_c << SHIFT_A) + (b_c << SHIFT_B) per element: a residual shortcut joining its
// block on one integer grid.
//   C                               elements per pixel
//   A_BITS, A_SIGNED, SHIFT_A       input a's element type and shift (B_... likewise)
//   OUT_BITS                        two's complement output element width, holding every sum
//   PIXELS                          pixels per frame
template <unsigned C, unsigned A_BITS, bool A_SIGNED, unsigned SHIFT_A, unsigned B_BITS, bool B_SIGNED, unsigned SHIFT_B,
          unsigned OUT_BITS, unsigned PIXELS>
void add_streams(hls::stream<ap_uint<C * A_BITS> > &a, hls::stream<ap_uint<C * B_BITS> > &b,
                 hls::stream<ap_uint<C * OUT_BITS> > &out) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C * A_BITS> x = a.read();
        const ap_uint<C * B_BITS> y = b.read();
        ap_uint<C * OUT_BITS> sums = 0;
        for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
            const ap_int<OUT_BITS + 2> u = (ap_int<OUT_BITS + 2>)element<A_BITS, A_SIGNED, false>(x, c) << SHIFT_A;
            const ap_int<OUT_BITS + 2> v = (ap_int<OUT_BITS + 2>)element<B_BITS, B_SIGNED, false>(y, c) << SHIFT_B;
            sums.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) = (ap_uint<OUT_BITS>)(u + v);
        }
        out.write(sums);
    }
}

// The C_A elements of a, then the C_B elements of b, each extended to OUT_BITS (bipolar
// bits, which join only bipolar ones, are copied as they are).
//   C_A, A_BITS, A_SIGNED     input a's channels and element type (C_B, B_... likewise)
//   IN_BIPOLAR                both inputs are bipolar (1-bit elements)
//   OUT_BITS                  output element width
//   PIXELS                    pixels per frame
template <unsigned C_A, unsigned A_BITS, bool A_SIGNED, unsigned C_B, unsigned B_BITS, bool B_SIGNED, bool IN_BIPOLAR,
          unsigned OUT_BITS, unsigned PIXELS>
void concat_streams(hls::stream<ap_uint<C_A * A_BITS> > &a, hls::stream<ap_uint<C_B * B_BITS> > &b,
                    hls::stream<ap_uint<(C_A + C_B) * OUT_BITS> > &out) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C_A * A_BITS> x = a.read();
        const ap_uint<C_B * B_BITS> y = b.read();
        ap_uint<(C_A + C_B) * OUT_BITS> joined = 0;
        for (unsigned c = 0; c < C_A; c++) {
#pragma HLS UNROLL
            joined.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) =
                IN_BIPOLAR ? (ap_uint<OUT_BITS>)x[c] : (ap_uint<OUT_BITS>)element<A_BITS, A_SIGNED, false>(x, c);
        }
        for (unsigned c = 0; c < C_B; c++) {
#pragma HLS UNROLL
            joined.range((C_A + c) * OUT_BITS + OUT_BITS - 1, (C_A + c) * OUT_BITS) =
                IN_BIPOLAR ? (ap_uint<OUT_BITS>)y[c] : (ap_uint<OUT_BITS>)element<B_BITS, B_SIGNED, false>(y, c);
        }
        out.write(joined);
    }
}

}  // namespace bnnfpga

#endif
