"""Benchmarks from a checkout: ``python -m benchmarks`` runs ``sdv-llm benchmark``.

The harness lives in ``sdv_llm.benchmark``; ``benchmarks/results/`` keeps the recorded runs.
"""
