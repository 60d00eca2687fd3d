"""The GPU's mixed-precision training path (autocast, gradient scaler), run on the CPU."""

import numpy as np
import pytest
import torch

from sdv_llm.model import precision, training
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.conftest import TINY


def test_cuda_trains_in_bf16_where_supported_else_fp16_and_the_cpu_in_fp32(monkeypatch):
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: False)
    assert training.mixed_precision(torch.device('cpu')) is None
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert training.mixed_precision(torch.device('cuda')) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert training.mixed_precision(torch.device('cuda')) == torch.float16


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_and_the_gradient_scaler_train_a_valid_model(monkeypatch, iris, dtype):
    # The CUDA path on the CPU: the same autocast and (for fp16) GradScaler calls.
    monkeypatch.setattr(training, 'mixed_precision', lambda device, precision='auto': dtype)
    data, metadata = iris
    columns = metadata.tables['iris'].columns
    model = TabularLM(TabularLMConfig(**TINY)).fit(data, columns)
    assert np.isfinite(model.loss_values['Loss']).all()
    sampled = model.sample(50)
    for column in model.schema.order:
        model.schema.codecs[column].check_values(sampled[column])


def test_precision_rule(monkeypatch):
    cpu, cuda = torch.device('cpu'), torch.device('cuda')
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert precision.compute_dtype(cpu, 'float32') is None
    assert precision.compute_dtype(cuda, 'float32') is None
    assert precision.compute_dtype(cpu, 'bfloat16') == torch.bfloat16
    assert precision.compute_dtype(cuda, 'auto') == torch.float16
    assert precision.compute_dtype(torch.device('mps'), 'auto') is None
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: False)
    assert precision.compute_dtype(cpu, 'auto') is None
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)
    assert precision.compute_dtype(cpu, 'auto') == torch.bfloat16
    with pytest.raises(ValueError, match='precision'):
        precision.compute_dtype(cpu, 'half')


def test_cpu_bf16_training_runs_attention_in_float32_and_matches_float32_losses(iris):
    """On a CPU the embedded decoder trains under bf16 autocast with float32 attention (the
    custom attention is registered with transformers and the implementation restored after
    training); its losses stay within bf16 rounding of a float32 run."""
    data, metadata = iris
    columns = metadata.tables['iris'].columns
    seen = []
    original = torch.nn.functional.scaled_dot_product_attention

    def spy(query, *args, **kwargs):
        seen.append(query.dtype)
        return original(query, *args, **kwargs)

    losses = {}
    for name in ('float32', 'bfloat16'):
        seen.clear()
        config = TabularLMConfig(**TINY, precision=name)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch.nn.functional, 'scaled_dot_product_attention', spy)
            model = TabularLM(config).fit(data, columns)
        assert seen and set(seen) == {torch.float32}
        assert model.model.lm.config._attn_implementation == 'sdpa'  # restored
        losses[name] = model.loss_values['Loss'].to_numpy()
    np.testing.assert_allclose(losses['bfloat16'], losses['float32'], rtol=0.05)
