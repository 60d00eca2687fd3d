"""FASTGEN (arXiv 2507.15839): a fitted table as a standalone, reusable sampling script.

Data path: ``fields`` (classification, per-field distributions; ``families`` and
``text_model``), ``copula`` (dependencies and lookups), ``model`` (the spec), ``runtime``
(numpy/pandas sampling, copied into scripts), ``script`` (the file), ``synthesizer`` (SDV),
``llm`` (a language model proposes the distributions), ``distill`` (from LLMSynthesizer).
"""
