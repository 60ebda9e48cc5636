// bnnfpga RTL library: u = SCALE * x + offset[c] on every element of a pixel (IntegerAffine in
// the IR): an input offset applied exactly, in integers, before a zero-padded convolution
// (DESIGN.md 3.4, 3.5). One pixel per cycle.
module bnn_integer_affine #(
    parameter int C = 3,                // channels per pixel
    parameter int IN_BITS = 8,          // input element width
    parameter bit IN_BIPOLAR = 1'b0,    // inputs are bipolar (bit 1 = +1, bit 0 = -1)
    parameter bit IN_SIGNED = 1'b0,     // integer inputs are two's complement
    parameter int OUT_BITS = 9,         // two's complement output element width
    parameter int SCALE = 2,            // integer scale
    parameter OFFSETS_FILE = ""         // $readmemh: C offsets of OUT_BITS bits
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [C*IN_BITS-1:0]  s_axis_tdata,
    input  logic                  s_axis_tvalid,
    output logic                  s_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  logic                  m_axis_tready
);
    localparam int WIDE = IN_BITS + OUT_BITS + 34;  // SCALE is a 32-bit int

    logic signed [OUT_BITS-1:0] offsets[C];
    initial $readmemh(OFFSETS_FILE, offsets);

    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    logic [C*OUT_BITS-1:0] u;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            logic signed [WIDE-1:0] x;
            if (IN_BIPOLAR) x = s_axis_tdata[c*IN_BITS] ? WIDE'(1) : -WIDE'(1);
            else if (IN_SIGNED) x = WIDE'($signed(s_axis_tdata[c*IN_BITS+:IN_BITS]));
            else x = WIDE'($signed({1'b0, s_axis_tdata[c*IN_BITS+:IN_BITS]}));
            u[c*OUT_BITS+:OUT_BITS] = OUT_BITS'(WIDE'(SCALE) * x + WIDE'(offsets[c]));
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
