// bnnfpga streaming library: AXI-Stream input/output stages and elementwise stages.
#ifndef BNNFPGA_IO_HPP
#define BNNFPGA_IO_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// Reads PIXELS pixels of PIXEL_BITS bits, each as ceil(PIXEL_BITS/64) 64-bit words, low
// word first (the stream format of bnnfpga/streams.py).
template <unsigned PIXEL_BITS, unsigned PIXELS>
void input_stage(hls::stream<ap_axiu<64, 0, 0, 0> > &in, hls::stream<ap_uint<PIXEL_BITS> > &out) {
    const unsigned WORDS = (PIXEL_BITS + 63) / 64;
    for (unsigned p = 0; p < PIXELS; p++) {
        ap_uint<WORDS * 64> pixel = 0;
        for (unsigned w = 0; w < WORDS; w++) {
#pragma HLS PIPELINE II = 1
            pixel.range(w * 64 + 63, w * 64) = in.read().data;
        }
        out.write(pixel.range(PIXEL_BITS - 1, 0));
    }
}

// Writes VALUES int32 values per word for WORDS words as 32-bit AXI-Stream beats, with
// TLAST on the last beat of the frame.
template <unsigned VALUES, unsigned WORDS>
void output_stage(hls::stream<ap_uint<VALUES * 32> > &in, hls::stream<ap_axiu<32, 0, 0, 0> > &out) {
    for (unsigned w = 0; w < WORDS; w++) {
        const ap_uint<VALUES * 32> word = in.read();
        for (unsigned v = 0; v < VALUES; v++) {
#pragma HLS PIPELINE II = 1
            ap_axiu<32, 0, 0, 0> beat;
            beat.data = word.range(v * 32 + 31, v * 32);
            beat.keep = -1;
            beat.strb = -1;
            beat.last = (w == WORDS - 1 && v == VALUES - 1) ? 1 : 0;
            out.write(beat);
        }
    }
}

// The value of element c of a pixel: bipolar (bit 1 = +1, bit 0 = -1), signed or unsigned.
template <unsigned BITS, bool SIGNED, bool BIPOLAR, int W>
ap_int<BITS + 2> element(const ap_uint<W> &pixel, unsigned c) {
    const ap_uint<BITS> raw = pixel.range(c * BITS + BITS - 1, c * BITS);
    if (BIPOLAR) return raw[0] ? 1 : -1;
    if (SIGNED) return (ap_int<BITS>)raw;
    return raw;
}

// u = SCALE * x + offset[c] per element, for an input offset that must be applied before
// zero padding (IntegerAffine in the IR).
//   C                        channels per pixel
//   IN_BITS, OUT_BITS        input and two's complement output element widths
//   IN_SIGNED, IN_BIPOLAR    input element type (see element())
//   PIXELS                   pixels per frame
template <unsigned C, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, unsigned OUT_BITS, unsigned PIXELS, int SCALE>
void integer_affine(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C * OUT_BITS> > &out,
                    const ap_int<OUT_BITS> offset[C]) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C * IN_BITS> x = in.read();
        ap_uint<C * OUT_BITS> u = 0;
        for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
            const ap_int<OUT_BITS> v = (ap_int<OUT_BITS>)(SCALE * element<IN_BITS, IN_SIGNED, IN_BIPOLAR>(x, c) + offset[c]);
            u.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) = (ap_uint<OUT_BITS>)v;
        }
        out.write(u);
    }
}

// Thresholds applied elementwise to integer or bipolar pixels (binarising the raw input): bit c
// of the output pixel is 1 when x_c >= threshold[c], or the channel's constant (+1 -> 1, -1 -> 0).
//   C, IN_BITS               channels and input element width
//   IN_SIGNED, IN_BIPOLAR    input element type (see element())
//   T_W                      threshold width
//   PIXELS                   pixels per frame
template <unsigned C, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, unsigned T_W, unsigned PIXELS>
void threshold_stage(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C> > &out,
                     const ap_int<T_W> threshold[C], const ap_int<2> constant[C]) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C * IN_BITS> x = in.read();
        ap_uint<C> bits = 0;
        for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
            const ap_int<IN_BITS + 2> v = element<IN_BITS, IN_SIGNED, IN_BIPOLAR>(x, c);
            bits[c] = constant[c] != 0 ? (constant[c] > 0 ? 1 : 0) : (v >= threshold[c] ? 1 : 0);
        }
        out.write(bits);
    }
}

}  // namespace bnnfpga

#endif
