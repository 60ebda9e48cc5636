// bnnfpga streaming library: line buffer shared by the window generator and max-pool.
#ifndef BNNFPGA_LINEBUFFER_HPP
#define BNNFPGA_LINEBUFFER_HPP

#include "bnnfpga_types.hpp"

namespace bnnfpga {

// Holds the last KH rows of an H x W image of PIXEL_BITS-wide pixels, read row by row
// from a stream. A window of output row oy needs input rows oy*SH - PT ... + KH - 1; all of
// them are among the last KH rows read once row min(oy*SH - PT + KH - 1, H - 1) is in.
//   PIXEL_BITS  bits per pixel (all channels)
//   H, W        image height and width
//   KH          rows kept (the window height)
template <unsigned PIXEL_BITS, unsigned H, unsigned W, unsigned KH>
struct LineBuffer {
    ap_uint<PIXEL_BITS> rows[KH][W];
    unsigned next_row;

    LineBuffer() : next_row(0) {}

    // Read input rows until row `last` (clipped to H - 1) is buffered.
    void fill_until(hls::stream<ap_uint<PIXEL_BITS> > &in, int last) {
        for (unsigned r = 0; r < H; r++) {
            if ((int)next_row > last || next_row >= H) break;
            for (unsigned x = 0; x < W; x++) {
#pragma HLS PIPELINE II = 1
                rows[next_row % KH][x] = in.read();
            }
            next_row++;
        }
    }

    // Consume the rows no window needed, so that the stream stays in step.
    void drain(hls::stream<ap_uint<PIXEL_BITS> > &in) {
        fill_until(in, (int)H - 1);
    }

    // Whether input position (y, x) lies inside the image, and its pixel.
    static bool inside(int y, int x) { return y >= 0 && y < (int)H && x >= 0 && x < (int)W; }
    ap_uint<PIXEL_BITS> pixel(int y, int x) const { return rows[(unsigned)y % KH][(unsigned)x]; }
};

}  // namespace bnnfpga

#endif
