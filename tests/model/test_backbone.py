"""The embedded decoder: its attention implementation, set through transformers' API, and
its size rule."""

import pytest
import torch

from sdv_llm.decoding.sampler import attention_implementation
from sdv_llm.model.backbone import BackboneConfig, TabularDecoder, build_backbone


def _decoder():
    torch.manual_seed(0)
    lm = build_backbone(BackboneConfig(16, 2, 2, 0.0), 40, 12, {'bos': 1, 'eos': 2})
    return TabularDecoder(lm, 3).eval()


def test_backbone_uses_sdpa_with_the_former_weights():
    """``GPT2Config(attn_implementation='sdpa')`` builds the model that setting the config's
    private attribute by hand built: same implementation, same initial weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    model = _decoder()
    assert model.config._attn_implementation == 'sdpa'
    config = model.lm.config.to_dict()
    config.pop('_attn_implementation_internal', None)
    config.pop('attn_implementation', None)
    former = GPT2Config(**config)
    former._attn_implementation = 'sdpa'
    torch.manual_seed(0)
    former_lm = GPT2LMHeadModel(former)
    ours = model.lm.state_dict()
    for name, tensor in former_lm.state_dict().items():
        assert torch.equal(tensor, ours[name]), name


def test_attention_implementation_switches_and_restores():
    model = _decoder()
    ids = torch.randint(3, 40, (4, 10), generator=torch.Generator().manual_seed(0))
    columns = torch.zeros_like(ids)
    with torch.no_grad():
        fused = model(input_ids=ids, next_columns=columns).logits
        with attention_implementation(model, 'eager'):
            assert model.config._attn_implementation == 'eager'
            assert model.lm.transformer.config._attn_implementation == 'eager'
            eager = model(input_ids=ids, next_columns=columns).logits
    assert model.config._attn_implementation == 'sdpa'
    torch.testing.assert_close(eager, fused, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('rows, expected', [
    (120, (64, 2, 4, 0.2)),
    (1_999, (64, 2, 4, 0.2)),
    (2_000, (64, 2, 4, 0.1)),
    (19_999, (64, 2, 4, 0.1)),
    (20_000, (64, 1, 4, 0.1)),
    (32_561, (64, 1, 4, 0.1)),
])
def test_the_default_decoder_size(rows, expected):
    """Width 64 (the same or higher SDMetrics quality than 96 x 3 and 128 x 2-3 on the six
    larger tables of shared/data, BENCHMARKS.md); 2 layers, 1 from 20,000 training rows (the
    same quality there, measured twice); small tables get more dropout."""
    config = BackboneConfig.for_table(rows, 1_000, 200)
    assert (config.embedding_dim, config.num_layers, config.num_heads, config.dropout) \
        == expected


def test_a_fixed_size_overrides_the_rule():
    config = BackboneConfig.for_table(50_000, 1_000, 200, embedding_dim=128, num_layers=3,
                                      dropout=0.0)
    assert (config.embedding_dim, config.num_layers, config.dropout) == (128, 3, 0.0)
    with pytest.raises(ValueError, match='embedding_dim=30 must be a multiple of num_heads=4'):
        BackboneConfig.for_table(50_000, 1_000, 200, embedding_dim=30)


@pytest.mark.parametrize('rows, layers, expected', [
    (36_169, None, 16),    # one layer: at least ONE_LAYER_MIN_EPOCHS (the rule alone gives 8)
    (26_049, None, 16),    # 12 by the rule
    (100_000, None, 16),
    (36_169, 2, 8),        # two layers keep the 300,000-presentation rule
    (10_000, None, 30),    # two layers by default under 20,000 rows
    (10_000, 1, 30),       # a one-layer decoder on a smaller table: the rule gives more already
])
def test_default_epochs_of_the_embedded_decoder(rows, layers, expected):
    from types import SimpleNamespace

    from sdv_llm.model.backbones import EmbeddedBackbone

    backbone = EmbeddedBackbone()
    config = SimpleNamespace(embedding_dim=None, num_layers=layers, num_heads=None,
                             dropout=None)
    backbone.size(rows, SimpleNamespace(vocab_size=500, max_length=40), config)
    assert backbone.default_epochs(rows) == expected
