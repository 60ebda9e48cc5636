"""bnnfpga: compile binary/ternary CNNs from ONNX into bit-exact FPGA accelerators."""

__version__ = "0.1.0"
