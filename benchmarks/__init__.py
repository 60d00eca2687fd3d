"""Benchmarks of sdv_llm against SDV's synthesizers; see single_table.py."""
