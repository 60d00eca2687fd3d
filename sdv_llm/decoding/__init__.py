"""Constrained decoding: the row grammar as a token automaton, and the batched sampler."""
