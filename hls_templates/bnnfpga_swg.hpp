// bnnfpga streaming library: sliding window generator (im2col on a stream).
#ifndef BNNFPGA_SWG_HPP
#define BNNFPGA_SWG_HPP

#include "bnnfpga_linebuffer.hpp"

namespace bnnfpga {

// For every output position of a convolution, streams the KH x KW x C patch vector in the
// order (kh, kw, c) as Chunk<SIMD, IN_BITS>; elements in the zero padding have data 0 and
// valid 0, so that a bipolar dot product can leave them out (docs/DESIGN.md 3.5).
//   C, IN_BITS          input channels and bits per element
//   H, W             input height and width
//   KH, KW, SH, SW   kernel and stride
//   PT, PL, PB, PR   zero padding top, left, bottom, right
//   SIMD             elements per chunk; divides KH*KW*C
template <unsigned C, unsigned IN_BITS, unsigned H, unsigned W, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned PT, unsigned PL, unsigned PB, unsigned PR, unsigned SIMD>
void sliding_window(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<Chunk<SIMD, IN_BITS> > &out) {
    const unsigned OH = (H + PT + PB - KH) / SH + 1;
    const unsigned OW = (W + PL + PR - KW) / SW + 1;
    const unsigned MW = KH * KW * C;
    const unsigned SF = MW / SIMD;
    LineBuffer<C * IN_BITS, H, W, KH> lines;  // one per instance: no static state shared between layers
    for (unsigned oy = 0; oy < OH; oy++) {
        const int top = (int)(oy * SH) - (int)PT;
        lines.fill_until(in, top + (int)KH - 1);
        for (unsigned ox = 0; ox < OW; ox++) {
            const int left = (int)(ox * SW) - (int)PL;
            for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
                Chunk<SIMD, IN_BITS> chunk;
                chunk.data = 0;
                chunk.valid = 0;
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    const unsigned i = sf * SIMD + s;
                    const unsigned c = i % C;
                    const unsigned kw = (i / C) % KW;
                    const unsigned kh = i / (C * KW);
                    const int y = top + (int)kh, x = left + (int)kw;
                    if (LineBuffer<C * IN_BITS, H, W, KH>::inside(y, x)) {
                        chunk.data.range(s * IN_BITS + IN_BITS - 1, s * IN_BITS) = lines.pixel(y, x).range(c * IN_BITS + IN_BITS - 1, c * IN_BITS);
                        chunk.valid[s] = 1;
                    }
                }
                out.write(chunk);
            }
        }
    }
    lines.drain(in);
}

// Streams a whole tensor of PIXELS pixels (C elements each) as one patch vector of
// PIXELS*C elements in stream order, for a fully connected layer.
//   C, IN_BITS   elements per pixel and bits per element
//   PIXELS    pixels per frame
//   SIMD      elements per chunk; divides PIXELS*C
template <unsigned C, unsigned IN_BITS, unsigned PIXELS, unsigned SIMD>
void pixels_to_chunks(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<Chunk<SIMD, IN_BITS> > &out) {
    ap_uint<C * IN_BITS> pixel = 0;
    Chunk<SIMD, IN_BITS> chunk;
    chunk.data = 0;
    chunk.valid = ~ap_uint<SIMD>(0);
    for (unsigned i = 0; i < PIXELS * C; i++) {
#pragma HLS PIPELINE II = 1
        const unsigned c = i % C, s = i % SIMD;
        if (c == 0) pixel = in.read();
        chunk.data.range(s * IN_BITS + IN_BITS - 1, s * IN_BITS) = pixel.range(c * IN_BITS + IN_BITS - 1, c * IN_BITS);
        if (s == SIMD - 1) out.write(chunk);
    }
}

}  // namespace bnnfpga

#endif
