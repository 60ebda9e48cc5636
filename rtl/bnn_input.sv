`default_nettype none

// bnnfpga RTL library: input stage. Reads pixels of PIXEL_BITS bits from 64-bit AXI-Stream
// words, each pixel as ceil(PIXEL_BITS/64) words, low word first (bnnfpga/hw/streams.py), and
// writes one pixel per beat. One word per cycle in; the output register is refilled in the
// cycle it drains.
module bnn_input #(
    // Bits per pixel (its C elements), >= 1; a pixel takes ceil(PIXEL_BITS/64) input words
    parameter int PIXEL_BITS = 8
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire  [63:0]           s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output logic                  s_axis_tready,
    output logic [PIXEL_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  wire                   m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (PIXEL_BITS < 1) begin : g_check_pixel_bits
            $error($sformatf("bnn_input: PIXEL_BITS (%0d) must be >= 1", PIXEL_BITS));
        end
    endgenerate

    localparam int WORDS = (PIXEL_BITS + 63) / 64;
    localparam int WW = WORDS > 1 ? $clog2(WORDS) : 1;

    logic [WW-1:0] word;
    logic [WORDS*64-1:0] pixel;  // words of the pixel being assembled (the last one comes from the stream)

    wire last_word = (word == WW'(WORDS - 1));
    // The last word of a pixel needs the output register: free, or draining this cycle.
    assign s_axis_tready = !last_word || !m_axis_tvalid || m_axis_tready;

    logic [WORDS*64-1:0] assembled;
    always_comb begin
        assembled = pixel;
        assembled[int'(word)*64+:64] = s_axis_tdata;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            word <= '0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                pixel <= assembled;
                if (last_word) begin
                    word <= '0;
                    m_axis_tdata <= assembled[PIXEL_BITS-1:0];
                    m_axis_tvalid <= 1'b1;
                end else begin
                    word <= word + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
