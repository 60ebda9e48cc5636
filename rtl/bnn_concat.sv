`default_nettype none

// bnnfpga RTL library: channel concatenation of two pixel streams, the join of a dense block
// (docs/DESIGN.md 3.15): the output pixel holds the C_A elements of a (s0_axis) and then the
// C_B elements of b (s1_axis), each extended to OUT_BITS (sign-extended where its input is
// two's complement). Bipolar elements (1 bit) join only bipolar ones. A pixel leaves when both
// inputs have one; one pixel per cycle, an output register.
module bnn_concat #(
    // Channels of input a, >= 1
    parameter int C_A = 8,
    // Bits per element of a, >= 1
    parameter int A_BITS = 8,
    // Elements of a are two's complement (else unsigned or bipolar)
    parameter bit A_SIGNED = 1'b1,
    // Channels of input b, >= 1
    parameter int C_B = 8,
    // Bits per element of b, >= 1
    parameter int B_BITS = 8,
    // Elements of b are two's complement (else unsigned or bipolar)
    parameter bit B_SIGNED = 1'b1,
    // Both inputs are bipolar (1 bit, bit 1 = +1): then A_BITS = B_BITS = OUT_BITS = 1
    parameter bit IN_BIPOLAR = 1'b0,
    // Bits per output element, >= A_BITS and >= B_BITS
    parameter int OUT_BITS = 8
) (
    input  wire                         clk,
    input  wire                         rst_n,
    input  wire  [C_A*A_BITS-1:0]       s0_axis_tdata,
    input  wire                         s0_axis_tvalid,
    output logic                        s0_axis_tready,
    input  wire  [C_B*B_BITS-1:0]       s1_axis_tdata,
    input  wire                         s1_axis_tvalid,
    output logic                        s1_axis_tready,
    output logic [(C_A+C_B)*OUT_BITS-1:0] m_axis_tdata,
    output logic                        m_axis_tvalid,
    input  wire                         m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (C_A < 1 || C_B < 1) begin : g_check_c
            $error($sformatf("bnn_concat: C_A (%0d) and C_B (%0d) must be >= 1", C_A, C_B));
        end
        if (A_BITS < 1 || B_BITS < 1 || OUT_BITS < A_BITS || OUT_BITS < B_BITS) begin : g_check_bits
            $error($sformatf("bnn_concat: OUT_BITS (%0d) must hold A_BITS (%0d) and B_BITS (%0d), both >= 1", OUT_BITS,
                             A_BITS, B_BITS));
        end
        if (IN_BIPOLAR && (A_BITS != 1 || B_BITS != 1 || OUT_BITS != 1)) begin : g_check_bipolar
            $error("bnn_concat: IN_BIPOLAR inputs and output are 1 bit");
        end
    endgenerate

    wire load = s0_axis_tvalid && s1_axis_tvalid && (!m_axis_tvalid || m_axis_tready);
    assign s0_axis_tready = load;
    assign s1_axis_tready = load;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            m_axis_tvalid <= 1'b0;
        end else if (load) begin
            m_axis_tvalid <= 1'b1;
        end else if (m_axis_tready) begin
            m_axis_tvalid <= 1'b0;
        end
    end

    always_ff @(posedge clk) begin
        if (load) begin
            for (int c = 0; c < C_A; c++) begin
                for (int i = 0; i < OUT_BITS; i++) begin
                    m_axis_tdata[c*OUT_BITS + i] <= i < A_BITS ? s0_axis_tdata[c*A_BITS + i]
                                                               : A_SIGNED && s0_axis_tdata[c*A_BITS + A_BITS - 1];
                end
            end
            for (int c = 0; c < C_B; c++) begin
                for (int i = 0; i < OUT_BITS; i++) begin
                    m_axis_tdata[(C_A + c)*OUT_BITS + i] <= i < B_BITS ? s1_axis_tdata[c*B_BITS + i]
                                                                     : B_SIGNED && s1_axis_tdata[c*B_BITS + B_BITS - 1];
                end
            end
        end
    end
endmodule

`default_nettype wire
