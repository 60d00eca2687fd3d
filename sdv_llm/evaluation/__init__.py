"""Metrics of a synthetic table against the real one, on data frames and SDV metadata only.

Modules: ``quality`` (SDMetrics quality and diagnostic reports, single and multi-table),
``fidelity`` (marginal KL divergence, correlation and association distances), ``detection``
(C2ST), ``efficacy`` (ML efficacy: TSTR beside TRTR), ``privacy`` (distance to closest record),
``validity`` (rows the metadata does not allow), ``dependencies`` (functional dependencies
broken), ``integrity`` (foreign and primary keys of a database); ``columns`` holds what they
share. The benchmark harness (``sdv_llm.benchmark``) and the CLI score with these.
"""

from sdv_llm.evaluation.quality import quality_scores
from sdv_llm.evaluation.validity import invalid_rows

__all__ = ['invalid_rows', 'quality_scores']
