`default_nettype none

// bnnfpga RTL library: label select (docs/DESIGN.md 3.13). For each input vector of VALUES
// signed accumulators, outputs the indices of the K largest (LARGEST = 1; else the K
// smallest) as one word of K indices, best first at bits [0, INDEX_BITS); equal values keep
// their index order (the lower index first), as ONNX ArgMax and TopK break ties. The vector
// is held and scanned one value per cycle into a sorted list of K (value, index) slots: an
// insertion compares the value with every slot at once and shifts the worse slots down.
// VALUES + 1 cycles per vector, plus the output handshake.
module bnn_label_select #(
    // Values per input vector (the classes), >= 1
    parameter int VALUES = 10,
    // Indices per output word, 1 to VALUES
    parameter int K = 1,
    // Bits per input value (two's complement), 2 to 32
    parameter int IN_BITS = 32,
    // 1: the largest values first; 0: the smallest (a negative output scale on the host)
    parameter bit LARGEST = 1'b1,
    // Bits per output index, enough for VALUES - 1
    parameter int INDEX_BITS = 4
) (
    input  wire                        clk,
    input  wire                        rst_n,
    input  wire  [VALUES*IN_BITS-1:0]  s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output logic                       s_axis_tready,
    output logic [K*INDEX_BITS-1:0]    m_axis_tdata,
    output logic                       m_axis_tvalid,
    input  wire                        m_axis_tready
);
    // ---- parameter checks: an illegal combination stops elaboration
    generate
        if (VALUES < 1) begin : g_check_values
            $error($sformatf("bnn_label_select: VALUES (%0d) must be >= 1", VALUES));
        end
        if (K < 1 || K > VALUES) begin : g_check_k
            $error($sformatf("bnn_label_select: K (%0d) must be 1 to VALUES (%0d)", K, VALUES));
        end
        if (IN_BITS < 2 || IN_BITS > 32) begin : g_check_in_bits
            $error($sformatf("bnn_label_select: IN_BITS (%0d) must be 2 to 32", IN_BITS));
        end
        if (INDEX_BITS < 1 || (VALUES > 1 && (VALUES - 1) >> INDEX_BITS != 0)) begin : g_check_index_bits
            $error($sformatf("bnn_label_select: INDEX_BITS (%0d) cannot hold index %0d", INDEX_BITS, VALUES - 1));
        end
    endgenerate

    localparam int KW = IN_BITS + 1;  // the key: the value, or its negation (-min needs a bit more)
    localparam int CW = VALUES > 1 ? $clog2(VALUES + 1) : 1;

    logic [VALUES*IN_BITS-1:0] vector;
    logic scanning, done;
    logic [CW-1:0] position;  // the next value to insert
    logic signed [KW-1:0] key [K];
    logic [INDEX_BITS-1:0] label [K];
    logic [K-1:0] filled;

    wire signed [IN_BITS-1:0] value = vector[int'(position)*IN_BITS+:IN_BITS];
    wire signed [KW-1:0] widened = {value[IN_BITS-1], value};  // sign extension by one bit
    wire signed [KW-1:0] new_key = LARGEST ? widened : -widened;
    // Slot j is worse than the new value: empty, or strictly smaller key (ties stay ahead).
    // The new value goes to the first worse slot; the worse slots after it take their
    // predecessor's entry (the list is sorted, so the worse slots are a suffix).
    logic [K-1:0] worse, worse_before;
    always_comb begin
        for (int j = 0; j < K; j++) worse[j] = !filled[j] || new_key > key[j];
    end
    assign worse_before = K'({worse, 1'b0});

    assign s_axis_tready = !scanning && !done;
    assign m_axis_tvalid = done;
    always_comb begin
        for (int j = 0; j < K; j++) m_axis_tdata[j*INDEX_BITS+:INDEX_BITS] = label[j];
    end

    // The entry each slot takes when it shifts down: its predecessor's (slot 0 never shifts).
    logic signed [KW-1:0] prev_key [K];
    logic [INDEX_BITS-1:0] prev_label [K];
    logic [K-1:0] prev_filled;
    for (genvar j = 0; j < K; j++) begin : g_slot
        if (j == 0) begin : g_first
            assign prev_key[j] = new_key;
            assign prev_label[j] = INDEX_BITS'(position);
            assign prev_filled[j] = 1'b1;
        end else begin : g_next
            assign prev_key[j] = key[j-1];
            assign prev_label[j] = label[j-1];
            assign prev_filled[j] = filled[j-1];
        end
        always_ff @(posedge clk) begin
            if (!rst_n) begin
                filled[j] <= 1'b0;
            end else if (s_axis_tvalid && s_axis_tready) begin
                filled[j] <= 1'b0;
            end else if (scanning && worse[j]) begin
                if (!worse_before[j]) begin
                    key[j] <= new_key;
                    label[j] <= INDEX_BITS'(position);
                    filled[j] <= 1'b1;
                end else begin
                    key[j] <= prev_key[j];
                    label[j] <= prev_label[j];
                    filled[j] <= prev_filled[j];
                end
            end
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            scanning <= 1'b0;
            done <= 1'b0;
            position <= '0;
        end else begin
            if (s_axis_tvalid && s_axis_tready) begin
                vector <= s_axis_tdata;
                scanning <= 1'b1;
                position <= '0;
            end
            if (scanning) begin
                position <= position + 1'b1;
                if (position == CW'(VALUES - 1)) begin
                    scanning <= 1'b0;
                    done <= 1'b1;
                end
            end
            if (done && m_axis_tready) done <= 1'b0;
        end
    end
endmodule

`default_nettype wire
