// bnnfpga streaming library: AXI-Stream input/output stages and elementwise stages.
#ifndef BNNFPGA_IO_HPP
#define BNNFPGA_IO_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// Reads PIXELS pixels of PIXEL_BITS bits, each as ceil(PIXEL_BITS/64) 64-bit words, low
// word first (the stream format of bnnfpga/hw/streams.py).
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

// The value of element c of a pixel: bipolar (bit 1 = +1, bit 0 = -1), signed or unsigned.
template <unsigned BITS, bool SIGNED, bool BIPOLAR, int W>
ap_int<BITS + 2> element(const ap_uint<W> &pixel, unsigned c) {
    const ap_uint<BITS> raw = pixel.range(c * BITS + BITS - 1, c * BITS);
    if (BIPOLAR) return raw[0] ? 1 : -1;
    if (SIGNED) return (ap_int<BITS>)raw;
    return raw;
}

// Writes each word of VALUES elements (WORDS words per frame) as VALUES 32-bit AXI-Stream
// beats, element 0 first, each extended to int32 (an int32 accumulator as it is, a k-bit
// level sign- or zero-extended, a bipolar bit as +1/-1), with TLAST on the frame's last beat,
// or only on the last beat of every frames_per_last-th frame (a batch per DMA transfer; 0
// and 1: every frame). One frame per call; the frame count of the batch persists.
//   VALUES, WORDS                 elements per word, words per frame
//   IN_BITS, IN_SIGNED, IN_BIPOLAR  the element type (32, true, false: int32 accumulators)
template <unsigned VALUES, unsigned WORDS, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR>
void output_stage(hls::stream<ap_uint<VALUES * IN_BITS> > &in, hls::stream<ap_axiu<32, 0, 0, 0> > &out,
                  const ap_uint<32> frames_per_last) {
    static ap_uint<32> frames = 0;  // frames of the batch already sent
    const bool last_frame = frames_per_last <= 1 || frames == frames_per_last - 1;
    frames = last_frame ? ap_uint<32>(0) : ap_uint<32>(frames + 1);
    for (unsigned w = 0; w < WORDS; w++) {
        const ap_uint<VALUES * IN_BITS> word = in.read();
        for (unsigned v = 0; v < VALUES; v++) {
#pragma HLS PIPELINE II = 1
            ap_axiu<32, 0, 0, 0> beat;
            beat.data = (ap_int<32>)element<IN_BITS, IN_SIGNED, IN_BIPOLAR>(word, v);
            beat.keep = -1;
            beat.strb = -1;
            beat.last = (last_frame && w == WORDS - 1 && v == VALUES - 1) ? 1 : 0;
            out.write(beat);
        }
    }
}

// u = scale[c] * x + offset[c] per element: the integer gains of a per-channel input scale
// (IntegerAffine in the IR, docs/DESIGN.md 3.4).
//   C                        channels per pixel
//   IN_BITS, OUT_BITS        input and two's complement output element widths
//   IN_SIGNED, IN_BIPOLAR    input element type (see element())
//   PIXELS                   pixels per frame
template <unsigned C, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, unsigned OUT_BITS, unsigned PIXELS>
void integer_affine(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C * OUT_BITS> > &out,
                    const ap_int<32> scale[C], const ap_int<OUT_BITS> offset[C]) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C * IN_BITS> x = in.read();
        ap_uint<C * OUT_BITS> u = 0;
        for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
            // scale·x in LUTs, as the RTL does it (docs/DESIGN.md 4.4: the engines use no DSP slice)
            const ap_int<OUT_BITS + 33> scaled = scale[c] * element<IN_BITS, IN_SIGNED, IN_BIPOLAR>(x, c);
#pragma HLS BIND_OP variable = scaled op = mul impl = fabric
            const ap_int<OUT_BITS> v = (ap_int<OUT_BITS>)(scaled + offset[c]);
            u.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) = (ap_uint<OUT_BITS>)v;
        }
        out.write(u);
    }
}

// Thresholds applied elementwise to integer or bipolar pixels (binarising or quantizing the raw
// input): element c of the output pixel is BASE + the number of channel c's LEVELS thresholds
// with x_c >= threshold, as OUT_BITS bits; with one threshold a channel may instead be a
// constant (+1 -> BASE + 1, -1 -> BASE).
//   C, IN_BITS               channels and input element width
//   IN_SIGNED, IN_BIPOLAR    input element type (see element())
//   T_W                      threshold width
//   PIXELS                   pixels per frame
//   LEVELS, OUT_BITS, BASE   thresholds per channel, output element width, output with none reached
template <unsigned C, unsigned IN_BITS, bool IN_SIGNED, bool IN_BIPOLAR, unsigned T_W, unsigned PIXELS,
          unsigned LEVELS, unsigned OUT_BITS, int BASE>
void threshold_stage(hls::stream<ap_uint<C * IN_BITS> > &in, hls::stream<ap_uint<C * OUT_BITS> > &out,
                     const ap_int<T_W> threshold[C][LEVELS], const ap_int<2> constant[C]) {
    for (unsigned p = 0; p < PIXELS; p++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C * IN_BITS> x = in.read();
        ap_uint<C * OUT_BITS> levels = 0;
        for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
            const ap_int<IN_BITS + 2> v = element<IN_BITS, IN_SIGNED, IN_BIPOLAR>(x, c);
            ap_int<OUT_BITS + 2> level = BASE;
            for (unsigned j = 0; j < LEVELS; j++) {
#pragma HLS UNROLL
                level += v >= threshold[c][j] ? 1 : 0;
            }
            if (LEVELS == 1 && constant[c] != 0) level = constant[c] > 0 ? BASE + 1 : BASE;
            levels.range(c * OUT_BITS + OUT_BITS - 1, c * OUT_BITS) = (ap_uint<OUT_BITS>)level;
        }
        out.write(levels);
    }
}

}  // namespace bnnfpga

#endif
