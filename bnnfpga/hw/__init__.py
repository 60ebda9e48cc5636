"""The hardware view of the folded IR: engines, their folding, bit layout, typed module
parameters, cycle and resource models. No text generation (codegen/ renders this view)."""
