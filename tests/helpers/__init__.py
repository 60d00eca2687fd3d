"""Helpers shared by the tests (and by the benchmark scripts that need the same stand-ins)."""
