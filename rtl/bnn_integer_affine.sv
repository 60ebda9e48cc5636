`default_nettype none

// bnnfpga RTL library: u = scale[c] * x + offset[c] on every element of a pixel (IntegerAffine
// in the IR): the integer gains of a per-channel input scale in front of the first dot product
// (docs/DESIGN.md 3.4). One pixel per cycle.
module bnn_integer_affine #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 3,
    // Bits per input element: 1 with IN_BIPOLAR, else >= 1
    parameter int IN_BITS = 8,
    // Inputs are bipolar: IN_BITS = 1, bit 1 = +1, bit 0 = -1
    parameter bit IN_BIPOLAR = 1'b0,
    // Integer inputs are two's complement (else unsigned)
    parameter bit IN_SIGNED = 1'b0,
    // Bits per two's complement output element, >= 1
    parameter int OUT_BITS = 9,
    // Integer scale of each channel, 32-bit two's complement, channel c at [32*c +: 32]
    parameter logic [32*C-1:0] SCALES = {(C > 0 ? C : 1){32'd1}},
    // $readmemh: C offsets of OUT_BITS bits
    parameter OFFSETS_FILE = ""
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire  [C*IN_BITS-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output logic                  s_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  wire                   m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (C < 1) begin : g_check_c
            $error($sformatf("bnn_integer_affine: C (%0d) must be >= 1", C));
        end
        if (IN_BITS < 1) begin : g_check_in_bits
            $error($sformatf("bnn_integer_affine: IN_BITS (%0d) must be >= 1", IN_BITS));
        end
        if (IN_BIPOLAR && IN_BITS != 1) begin : g_check_bipolar
            $error($sformatf("bnn_integer_affine: IN_BIPOLAR inputs are 1 bit, IN_BITS (%0d) must be 1", IN_BITS));
        end
        if (OUT_BITS < 1) begin : g_check_out_bits
            $error($sformatf("bnn_integer_affine: OUT_BITS (%0d) must be >= 1", OUT_BITS));
        end
    endgenerate

    localparam int WIDE = IN_BITS + OUT_BITS + 34;  // a scale is a 32-bit int
    // scale·x as shifted adds over the constant scale's two's complement bits (bit 31 weighs
    // -2^31): LUTs, not the DSP slice a `*` becomes in synthesis, which the resource model does
    // not count.

    logic signed [OUT_BITS-1:0] offsets[C];
    initial $readmemh(OFFSETS_FILE, offsets);

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    logic [C*OUT_BITS-1:0] u;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic signed [WIDE-1:0] x, scaled;
            if (IN_BIPOLAR) x = s_axis_tdata[c*IN_BITS] ? WIDE'(1) : -WIDE'(1);
            else if (IN_SIGNED) x = WIDE'($signed(s_axis_tdata[c*IN_BITS+:IN_BITS]));
            else x = WIDE'($signed({1'b0, s_axis_tdata[c*IN_BITS+:IN_BITS]}));
            scaled = WIDE'(offsets[c]);
            for (int b = 0; b < 32; b++) begin
                if (SCALES[32*c+b]) scaled = b == 31 ? scaled - (x <<< b) : scaled + (x <<< b);
            end
            u[c*OUT_BITS+:OUT_BITS] = OUT_BITS'(scaled);
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (s_axis_tvalid && s_axis_tready) begin
                m_axis_tdata <= u;
                m_axis_tvalid <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
