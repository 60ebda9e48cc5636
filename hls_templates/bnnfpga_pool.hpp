// bnnfpga streaming library: max-pool of bipolar pixels (DESIGN.md 3.6).
#ifndef BNNFPGA_POOL_HPP
#define BNNFPGA_POOL_HPP

#include "bnnfpga_linebuffer.hpp"

namespace bnnfpga {

// Max-pool over the valid (unpadded) positions of each window: OR of the bits, or AND for
// the channels set in min_channels (behind a flipped threshold max-pool becomes min-pool).
//   C                channels (one bit each)
//   H, W             input height and width
//   KH, KW, SH, SW   window and stride
//   PT, PL, PB, PR   padding (positions that take no part in the window)
template <unsigned C, unsigned H, unsigned W, unsigned KH, unsigned KW, unsigned SH, unsigned SW, unsigned PT,
          unsigned PL, unsigned PB, unsigned PR>
void max_pool(hls::stream<ap_uint<C> > &in, hls::stream<ap_uint<C> > &out, const ap_uint<C> min_channels) {
    const unsigned OH = (H + PT + PB - KH) / SH + 1;
    const unsigned OW = (W + PL + PR - KW) / SW + 1;
    LineBuffer<C, H, W, KH> lines;  // one per instance: no static state shared between layers
    for (unsigned oy = 0; oy < OH; oy++) {
        const int top = (int)(oy * SH) - (int)PT;
        lines.fill_until(in, top + (int)KH - 1);
        for (unsigned ox = 0; ox < OW; ox++) {
#pragma HLS PIPELINE II = 1
            const int left = (int)(ox * SW) - (int)PL;
            ap_uint<C> any = 0, all = ~ap_uint<C>(0);
            for (unsigned k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
                const int y = top + (int)(k / KW), x = left + (int)(k % KW);
                if (LineBuffer<C, H, W, KH>::inside(y, x)) {
                    const ap_uint<C> p = lines.pixel(y, x);
                    any |= p;
                    all &= p;
                }
            }
            out.write((any & ~min_channels) | (all & min_channels));
        }
    }
    lines.drain(in);
}

}  // namespace bnnfpga

#endif
