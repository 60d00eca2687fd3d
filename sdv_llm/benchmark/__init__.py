"""Benchmark harness: LLMSynthesizer beside SDV's synthesizers and peers, on real data.

``sdv_llm.benchmark.run(datasets=..., synthesizers=..., profile='quick')`` fits every
synthesizer on the same seeded split, scores the samples with the field's metrics and writes
CSV, JSON, Markdown and PNG files; ``sdv-llm benchmark`` is its command line.
"""

from sdv_llm.benchmark.profiles import PROFILES, Profile
from sdv_llm.benchmark.runner import run
from sdv_llm.benchmark.synthesizers import SYNTHESIZERS, SynthesizerSpec, register

__all__ = ['PROFILES', 'SYNTHESIZERS', 'Profile', 'SynthesizerSpec', 'register', 'run']
