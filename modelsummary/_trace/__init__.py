"""Stage 1, the tracer: one forward pass observed and written down as plain records.

The hooks and the call stack (`tracer`, `calls`), which call used which parameter
(`params`), the operator catalogue and its formulas (`catalogue`, `formulas`, `macs`),
byte meters (`meters`), the one walker of nested values (`values`), sharding engines
(`engines`), the meta device (`meta`), state kept as it was (`state`) and per-module
times (`timing`).
"""
