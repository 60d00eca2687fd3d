"""Evaluation around sdmetrics: quality and diagnostic reports as flat score dicts."""

from sdv_llm.evaluation.reports import quality_scores

__all__ = ['quality_scores']
