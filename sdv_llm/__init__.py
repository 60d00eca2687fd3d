"""sdv_llm: synthetic tabular data from language models, as an SDV 2.0 plugin.

Public names: ``LLMSynthesizer`` (SDV single-table synthesizer), ``LLMMultiTableSynthesizer``
(SDV multi-table synthesizer), ``FastGenSynthesizer`` (per-field distributions and a copula,
exported as a standalone sampling script) and ``TabularLLM`` (scikit-learn estimator). They are imported
lazily, so ``import sdv`` (which loads this plugin through the ``sdv_modules`` entry point)
does not import torch or transformers.
"""

import sdv  # noqa: F401  # first: sdv loads our entry points, which import the submodules

from sdv_llm.version import __version__

__all__ = ['FastGenSynthesizer', 'LLMMultiTableSynthesizer', 'LLMSynthesizer', 'TabularLLM',
           '__version__']


def __getattr__(name):
    if name == 'LLMSynthesizer':
        from sdv_llm.single_table import LLMSynthesizer

        return LLMSynthesizer
    if name == 'LLMMultiTableSynthesizer':
        from sdv_llm.multi_table import LLMMultiTableSynthesizer

        return LLMMultiTableSynthesizer
    if name == 'FastGenSynthesizer':
        from sdv_llm.fastgen.synthesizer import FastGenSynthesizer

        return FastGenSynthesizer
    if name == 'TabularLLM':
        from sdv_llm.estimator import TabularLLM

        return TabularLLM
    raise AttributeError(f"module 'sdv_llm' has no attribute {name!r}")
