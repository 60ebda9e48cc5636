// bnnfpga RTL library: matrix-vector unit with thresholds (DESIGN.md 3.1-3.4, 4).
//
// For each input vector of MW elements, read as MW/SIMD chunks on s_axis, computes MH dot
// products with ±1 weight rows, PE rows per cycle over SIMD elements per cycle, and writes
// one word of MH activations on m_axis: one bit per channel (threshold, bit 1 = +1) or the
// int32 accumulator (OUT_BITS = 32, the last layer). The input vector is kept in a buffer
// during the first of the MH/PE passes and reused by the others.
// Cycles per vector: (MH/PE) * (MW/SIMD), whatever the back-pressure allows.
//
// s_axis_tdata = {mask, data}: data holds SIMD elements of BITS bits (element s at bits
// [s*BITS +: BITS]); mask bit s is 0 where element s is zero padding (DESIGN.md 3.5).
module bnn_mvu #(
    parameter int MW = 9,             // elements per vector
    parameter int MH = 4,             // output channels
    parameter int SIMD = 3,           // elements per cycle, divides MW
    parameter int PE = 2,             // output channels per cycle, divides MH
    parameter int BITS = 1,           // bits per input element; 1 = bipolar
    parameter bit SIGNED_IN = 1'b0,   // integer inputs are two's complement
    parameter int ACC_W = 8,          // accumulator width (proven by the compiler)
    parameter int OUT_BITS = 1,       // 1: thresholded bits, 32: int32 accumulators
    parameter int T_W = ACC_W + 1,    // threshold width (a threshold may be max + 1)
    parameter WEIGHTS_FILE = "",      // $readmemh: PE*(MH/PE)*(MW/SIMD) words of SIMD bits, [pe][nf][sf]
    parameter THRESHOLDS_FILE = "",   // $readmemh: MH thresholds of T_W bits (OUT_BITS = 1)
    parameter CONSTANTS_FILE = ""     // $readmemh: MH 2-bit codes: 0 threshold, 1 constant +1, 3 constant -1
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic [SIMD*BITS+SIMD-1:0] s_axis_tdata,
    input  logic                     s_axis_tvalid,
    output logic                     s_axis_tready,
    output logic [MH*OUT_BITS-1:0]   m_axis_tdata,
    output logic                     m_axis_tvalid,
    input  logic                     m_axis_tready
);
    localparam int SF = MW / SIMD;
    localparam int NF = MH / PE;
    localparam int TILES = NF * SF;
    localparam int SF_W = SF > 1 ? $clog2(SF) : 1;
    localparam int NF_W = NF > 1 ? $clog2(NF) : 1;

    logic [SIMD-1:0] weights[PE*TILES];
    logic signed [T_W-1:0] thresholds[MH];
    logic [1:0] constants[MH];
    initial begin
        $readmemh(WEIGHTS_FILE, weights);
        if (OUT_BITS == 1) begin
            $readmemh(THRESHOLDS_FILE, thresholds);
            $readmemh(CONSTANTS_FILE, constants);
        end
    end

    logic [SIMD*BITS-1:0] buf_data[SF];
    logic [SIMD-1:0] buf_mask[SF];
    logic [SF_W-1:0] sf;
    logic [NF_W-1:0] nf;
    logic signed [ACC_W-1:0] acc[PE];
    logic [MH*OUT_BITS-1:0] result;

    wire first_pass = (nf == 0);
    wire last_step = (nf == NF_W'(NF - 1)) && (sf == SF_W'(SF - 1));
    // The finished vector needs the output register: stall while it is still occupied.
    wire blocked = last_step && m_axis_tvalid && !m_axis_tready;
    wire step = !blocked && (first_pass ? s_axis_tvalid : 1'b1);
    assign s_axis_tready = first_pass && !blocked;

    wire [SIMD*BITS-1:0] data = first_pass ? s_axis_tdata[SIMD*BITS-1:0] : buf_data[sf];
    wire [SIMD-1:0] mask = first_pass ? s_axis_tdata[SIMD*BITS+:SIMD] : buf_mask[sf];

    // One chunk's dot product with weight chunk w.
    function automatic logic signed [ACC_W-1:0] chunk_dot(input logic [SIMD*BITS-1:0] x, input logic [SIMD-1:0] m,
                                                          input logic [SIMD-1:0] w);
        logic signed [ACC_W-1:0] sum;
        logic signed [BITS+1:0] v;
        sum = '0;
        for (int s = 0; s < SIMD; s++) begin
            if (BITS == 1) begin
                // bipolar: +1 where the bits agree, -1 where they differ, 0 in the padding
                if (m[s]) sum += (x[s] ~^ w[s]) ? ACC_W'(1) : -ACC_W'(1);
            end else begin
                if (SIGNED_IN) v = (BITS+2)'($signed(x[s*BITS+:BITS]));
                else v = (BITS+2)'({1'b0, x[s*BITS+:BITS]});
                sum += w[s] ? ACC_W'(v) : -ACC_W'(v);
            end
        end
        chunk_dot = sum;
    endfunction

    logic signed [ACC_W-1:0] acc_next[PE];
    logic [MH*OUT_BITS-1:0] result_next;
    always_comb begin
        result_next = result;
        for (int pe = 0; pe < PE; pe++) begin
            acc_next[pe] = (sf == 0 ? '0 : acc[pe]) + chunk_dot(data, mask, weights[pe*TILES + int'(nf)*SF + int'(sf)]);
            if (sf == SF_W'(SF - 1)) begin
                // channel = nf * PE + pe
                if (OUT_BITS == 1) begin
                    result_next[int'(nf)*PE+pe] = constants[int'(nf)*PE+pe] == 2'd1 ? 1'b1 :
                                                  constants[int'(nf)*PE+pe] == 2'd3 ? 1'b0 :
                                                  T_W'(acc_next[pe]) >= thresholds[int'(nf)*PE+pe];
                end else begin
                    result_next[(int'(nf)*PE+pe)*OUT_BITS+:OUT_BITS] = OUT_BITS'(acc_next[pe]);
                end
            end
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sf <= '0;
            nf <= '0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (step) begin
                if (first_pass) begin
                    buf_data[sf] <= data;
                    buf_mask[sf] <= mask;
                end
                for (int pe = 0; pe < PE; pe++) acc[pe] <= acc_next[pe];
                result <= result_next;
                if (sf == SF_W'(SF - 1)) begin
                    sf <= '0;
                    nf <= last_step ? '0 : nf + 1'b1;
                end else begin
                    sf <= sf + 1'b1;
                end
                if (last_step) begin
                    m_axis_tdata <= result_next;
                    m_axis_tvalid <= 1'b1;
                end
            end
        end
    end
endmodule
