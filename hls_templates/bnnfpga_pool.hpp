// bnnfpga streaming library: max-pool (docs/DESIGN.md 3.6) and sum-pool (average pooling).
#ifndef BNNFPGA_POOL_HPP
#define BNNFPGA_POOL_HPP

#include "bnnfpga_linebuffer.hpp"

namespace bnnfpga {

// Max-pool over the valid (unpadded) positions of each window: for bipolar pixels (IN_BITS = 1)
// the OR of the bits, or AND for the channels set in min_channels (behind a flipped threshold
// max-pool becomes min-pool); for k-bit levels the max, or the min.
//   C                channels
//   IN_BITS, IN_SIGNED     bits per element (1: bipolar) and whether k-bit levels are two's complement
//   H, W             input height and width
//   KH, KW, SH, SW   window and stride
//   PT, PL, PB, PR   padding (positions that take no part in the window)
template <unsigned C, unsigned IN_BITS, bool IN_SIGNED, unsigned H, unsigned W, unsigned KH, unsigned KW, unsigned SH,
          unsigned SW, unsigned PT, unsigned PL, unsigned PB, unsigned PR>
void max_pool(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C * IN_BITS> > &out, const ap_uint<C> min_channels) {
    const unsigned OH = (H + PT + PB - KH) / SH + 1;
    const unsigned OW = (W + PL + PR - KW) / SW + 1;
    LineBuffer<C * IN_BITS, H, W, KH> lines;  // one per instance: no static state shared between layers
    for (unsigned oy = 0; oy < OH; oy++) {
        const int top = (int)(oy * SH) - (int)PT;
        lines.fill_until(in, top + (int)KH - 1);
        for (unsigned ox = 0; ox < OW; ox++) {
#pragma HLS PIPELINE II = 1
            const int left = (int)(ox * SW) - (int)PL;
            if (IN_BITS == 1) {
                ap_uint<C> any = 0, all = ~ap_uint<C>(0);
                for (unsigned k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
                    const int y = top + (int)(k / KW), x = left + (int)(k % KW);
                    if (LineBuffer<C * IN_BITS, H, W, KH>::inside(y, x)) {
                        const ap_uint<C> p = lines.pixel(y, x);
                        any |= p;
                        all &= p;
                    }
                }
                out.write((any & ~min_channels) | (all & min_channels));
            } else {
                ap_uint<C * IN_BITS> result = 0;
                for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
                    ap_int<IN_BITS + 1> best = 0;
                    bool seen = false;
                    for (unsigned k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
                        const int y = top + (int)(k / KW), x = left + (int)(k % KW);
                        if (LineBuffer<C * IN_BITS, H, W, KH>::inside(y, x)) {
                            const ap_uint<IN_BITS> raw = lines.pixel(y, x).range(c * IN_BITS + IN_BITS - 1, c * IN_BITS);
                            const ap_int<IN_BITS + 1> v = IN_SIGNED ? (ap_int<IN_BITS + 1>)(ap_int<IN_BITS>)raw : (ap_int<IN_BITS + 1>)raw;
                            if (!seen || (min_channels[c] ? v < best : v > best)) best = v;
                            seen = true;
                        }
                    }
                    result.range(c * IN_BITS + IN_BITS - 1, c * IN_BITS) = (ap_uint<IN_BITS>)best;
                }
                out.write(result);
            }
        }
    }
    lines.drain(in);
}

// Sum-pool, the integer part of average pooling: each output element is the sum of the
// window's elements, the padding adding 0 (the 1/(KH*KW) is folded behind).
//   C                channels
//   IN_BITS             bits per input element
//   IN_BIPOLAR, IN_SIGNED  inputs are bipolar (IN_BITS = 1, bit 1 = +1, 0 = -1), or two's complement
//                    (also ternary levels), else unsigned
//   OUT_BITS         bits per output sum, wide enough for KH*KW elements
//   H, W, KH, KW, SH, SW, PT, PL, PB, PR   as max_pool
template <unsigned C, unsigned IN_BITS, bool IN_BIPOLAR, bool IN_SIGNED, unsigned OUT_BITS, unsigned H, unsigned W, unsigned KH,
          unsigned KW, unsigned SH, unsigned SW, unsigned PT, unsigned PL, unsigned PB, unsigned PR>
void sum_pool(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C * OUT_BITS> > &out) {
    const unsigned OH = (H + PT + PB - KH) / SH + 1;
    const unsigned OW = (W + PL + PR - KW) / SW + 1;
    LineBuffer<C * IN_BITS, H, W, KH> lines;
    for (unsigned oy = 0; oy < OH; oy++) {
        const int top = (int)(oy * SH) - (int)PT;
        lines.fill_until(in, top + (int)KH - 1);
        for (unsigned ox = 0; ox < OW; ox++) {
#pragma HLS PIPELINE II = 1
            const int left = (int)(ox * SW) - (int)PL;
            ap_uint<C * OUT_BITS> result = 0;
            for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
                ap_int<OUT_BITS + 1> sum = 0;
                for (unsigned k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
                    const int y = top + (int)(k / KW), x = left + (int)(k % KW);
                    if (LineBuffer<C * IN_BITS, H, W, KH>::inside(y, x)) {
                        const ap_uint<IN_BITS> raw = lines.pixel(y, x).range(c * IN_BITS + IN_BITS - 1, c * IN_BITS);
                        if (IN_BIPOLAR) {
                            sum += raw[0] ? 1 : -1;
                        } else if (IN_SIGNED) {
                            sum += (ap_int<IN_BITS>)raw;
                        } else {
                            sum += raw;
                        }
                    }
                }
                result.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) = (ap_uint<OUT_BITS>)sum;
            }
            out.write(result);
        }
    }
    lines.drain(in);
}

}  // namespace bnnfpga

#endif
