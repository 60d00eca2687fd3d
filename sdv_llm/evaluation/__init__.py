"""Evaluation around sdmetrics: quality and diagnostic reports as flat score dicts, validity."""

from sdv_llm.evaluation.reports import quality_scores
from sdv_llm.evaluation.validity import invalid_rows

__all__ = ['invalid_rows', 'quality_scores']
