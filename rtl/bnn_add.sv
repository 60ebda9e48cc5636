`default_nettype none

// bnnfpga RTL library: element-wise integer add of two pixel streams, the join of a residual
// shortcut (docs/DESIGN.md 3.15): element c of the output is
// (a_c << SHIFT_A) + (b_c << SHIFT_B), exact in OUT_BITS two's complement bits. A pixel
// leaves when both inputs have one; one pixel per cycle, an output register.
module bnn_add #(
    // Channels (elements) per pixel, >= 1
    parameter int C = 8,
    // Bits per element of input a (s0_axis), >= 1
    parameter int A_BITS = 8,
    // Input a is two's complement (else unsigned)
    parameter bit A_SIGNED = 1'b1,
    // Left shift of input a, >= 0
    parameter int SHIFT_A = 0,
    // Bits per element of input b (s1_axis), >= 1
    parameter int B_BITS = 8,
    // Input b is two's complement (else unsigned)
    parameter bit B_SIGNED = 1'b1,
    // Left shift of input b, >= 0
    parameter int SHIFT_B = 0,
    // Bits per output element (two's complement, or unsigned when both inputs are): wide
    // enough for every sum, >= max(A_BITS + SHIFT_A, B_BITS + SHIFT_B)
    parameter int OUT_BITS = 9
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire  [C*A_BITS-1:0]   s0_axis_tdata,
    input  wire                   s0_axis_tvalid,
    output logic                  s0_axis_tready,
    input  wire  [C*B_BITS-1:0]   s1_axis_tdata,
    input  wire                   s1_axis_tvalid,
    output logic                  s1_axis_tready,
    output logic [C*OUT_BITS-1:0] m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  wire                   m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (C < 1) begin : g_check_c
            $error($sformatf("bnn_add: C (%0d) must be >= 1", C));
        end
        if (A_BITS < 1 || B_BITS < 1) begin : g_check_bits
            $error($sformatf("bnn_add: A_BITS (%0d) and B_BITS (%0d) must be >= 1", A_BITS, B_BITS));
        end
        if (SHIFT_A < 0 || SHIFT_B < 0) begin : g_check_shifts
            $error($sformatf("bnn_add: SHIFT_A (%0d) and SHIFT_B (%0d) must be >= 0", SHIFT_A, SHIFT_B));
        end
        if (OUT_BITS < A_BITS + SHIFT_A || OUT_BITS < B_BITS + SHIFT_B) begin : g_check_out_bits
            $error($sformatf("bnn_add: OUT_BITS (%0d) must hold both shifted inputs (%0d, %0d bits)", OUT_BITS,
                             A_BITS + SHIFT_A, B_BITS + SHIFT_B));
        end
    endgenerate

    // Each input extended to OUT_BITS and shifted: the sum modulo 2^OUT_BITS is the exact sum,
    // which OUT_BITS holds.
    logic [C*OUT_BITS-1:0] a_wide, b_wide;
    always_comb begin
        for (int c = 0; c < C; c++) begin
            for (int i = 0; i < OUT_BITS; i++) begin
                if (i < SHIFT_A) a_wide[c*OUT_BITS + i] = 1'b0;
                else if (i < SHIFT_A + A_BITS) a_wide[c*OUT_BITS + i] = s0_axis_tdata[c*A_BITS + i - SHIFT_A];
                else a_wide[c*OUT_BITS + i] = A_SIGNED && s0_axis_tdata[c*A_BITS + A_BITS - 1];
                if (i < SHIFT_B) b_wide[c*OUT_BITS + i] = 1'b0;
                else if (i < SHIFT_B + B_BITS) b_wide[c*OUT_BITS + i] = s1_axis_tdata[c*B_BITS + i - SHIFT_B];
                else b_wide[c*OUT_BITS + i] = B_SIGNED && s1_axis_tdata[c*B_BITS + B_BITS - 1];
            end
        end
    end

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
            for (int c = 0; c < C; c++) begin
                m_axis_tdata[c*OUT_BITS +: OUT_BITS] <= a_wide[c*OUT_BITS +: OUT_BITS] + b_wide[c*OUT_BITS +: OUT_BITS];
            end
        end
    end
endmodule

`default_nettype wire
