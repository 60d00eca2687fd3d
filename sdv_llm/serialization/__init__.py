"""Serializations: rows of codec tokens <-> token ids of a language model's vocabulary."""
