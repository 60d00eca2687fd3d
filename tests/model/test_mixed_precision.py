"""The GPU's mixed-precision training path (autocast, gradient scaler), run on the CPU."""

import numpy as np
import pytest
import torch

from sdv_llm.model import training
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.conftest import TINY


def test_cuda_trains_in_bf16_where_supported_else_fp16_and_the_cpu_in_fp32(monkeypatch):
    assert training.mixed_precision(torch.device('cpu')) is None
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert training.mixed_precision(torch.device('cuda')) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert training.mixed_precision(torch.device('cuda')) == torch.float16


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_and_the_gradient_scaler_train_a_valid_model(monkeypatch, iris, dtype):
    # The CUDA path on the CPU: the same autocast and (for fp16) GradScaler calls.
    monkeypatch.setattr(training, 'mixed_precision', lambda device: dtype)
    data, metadata = iris
    columns = metadata.tables['iris'].columns
    model = TabularLM(TabularLMConfig(**TINY)).fit(data, columns)
    assert np.isfinite(model.loss_values['Loss']).all()
    sampled = model.sample(50)
    for column in model.schema.order:
        model.schema.codecs[column].check_values(sampled[column])
