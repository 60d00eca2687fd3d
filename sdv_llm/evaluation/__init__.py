"""Metrics of a synthetic table against the real one, on data frames and SDV metadata only.

Modules: ``quality`` (SDMetrics quality and diagnostic reports, single and multi-table),
``fidelity`` (marginal KL divergence, correlation and association distances), ``detection``
(C2ST), ``efficacy`` (ML efficacy: TSTR beside TRTR), ``privacy`` (distance to closest record),
``copies`` (exact copies of training rows), ``membership`` (membership-inference attack),
``anonymity`` (anonymeter's singling-out, linkability and inference risks), ``audit`` (the
privacy report: every privacy audit in one table), ``validity`` (rows the metadata does not
allow), ``dependencies`` (functional dependencies broken), ``integrity`` (foreign and primary
keys of a database); ``columns`` holds what they share. The benchmark harness
(``sdv_llm.benchmark``) and the CLI score with these.
"""

from sdv_llm.evaluation.audit import privacy_report
from sdv_llm.evaluation.quality import quality_scores
from sdv_llm.evaluation.validity import invalid_rows

__all__ = ['invalid_rows', 'privacy_report', 'quality_scores']
