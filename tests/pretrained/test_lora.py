"""LLMSynthesizer on a local pretrained backbone with LoRA: adapters, saving, errors."""

import os

import numpy as np
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm.single_table import LLMSynthesizer
from tests.pretrained.conftest import tricky_table


def _rows(result):
    """SDV 2.0 returns ``{table_name: DataFrame}``."""
    return result['tricky'] if isinstance(result, dict) else result


@pytest.fixture(scope='module')
def table():
    return tricky_table(150, seed=3)


@pytest.fixture(scope='module')
def metadata(table):
    metadata = Metadata.detect_from_dataframes({'tricky': table})
    metadata.update_column('name', sdtype='categorical', table_name='tricky')
    metadata.update_column('count', sdtype='numerical', table_name='tricky')
    return metadata


@pytest.fixture(scope='module')
def synthesizer(tiny_backbone, table, metadata):
    synth = LLMSynthesizer(metadata, backbone=tiny_backbone, serialization='json', epochs=2,
                           batch_size=32, enable_gpu=False, random_state=0,
                           lora={'r': 4, 'lora_alpha': 8, 'lora_dropout': 0.0},
                           column_order='random', sample_batch_size=64)
    synth.fit({'tricky': table})
    return synth


def test_only_adapter_parameters_train(synthesizer):
    model = synthesizer._model.model
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert trainable and all('lora_' in name for name in trainable)
    assert any('wte' in name for name in frozen)
    # The adapter moved during training (LoRA's B starts at zero).
    assert any(float(p.abs().sum()) > 0 for name, p in model.named_parameters()
               if 'lora_B' in name)


def test_save_holds_the_adapter_not_the_backbone(synthesizer, tiny_backbone, tmp_path):
    path = tmp_path / 'synth.pkl'
    synthesizer.save(str(path))
    state = synthesizer._model.__getstate__()
    assert set(state['model']) and all('lora_' in key for key in state['model'])
    backbone_bytes = sum(os.path.getsize(os.path.join(tiny_backbone, f))
                         for f in os.listdir(tiny_backbone) if f.endswith('.safetensors'))
    adapter_bytes = sum(v.numel() * v.element_size() for v in state['model'].values())
    assert adapter_bytes < backbone_bytes / 4
    assert os.path.getsize(path) < backbone_bytes
    from sdv.utils import load_synthesizer

    loaded = load_synthesizer(str(path))
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    first, again = _rows(synthesizer.sample(30)), _rows(loaded.sample(30))
    assert first.astype(str).equals(again.astype(str))


def test_save_pretrained_writes_the_adapter_as_peft_does(synthesizer, tmp_path):
    directory = tmp_path / 'model'
    synthesizer.save_pretrained(directory)
    assert (directory / 'adapter' / 'adapter_config.json').is_file()
    assert (directory / 'adapter' / 'adapter_model.safetensors').is_file()
    assert not (directory / 'model.safetensors').exists()
    loaded = LLMSynthesizer.from_pretrained(directory)
    synthesizer.reset_sampling()
    first, again = _rows(synthesizer.sample(30)), _rows(loaded.sample(30))
    assert first.astype(str).equals(again.astype(str))


def test_random_orders_sample_valid_rows(synthesizer, table):
    sampled = _rows(synthesizer.sample(120))
    assert len(sampled) == 120
    lm = synthesizer._model
    for column in lm.schema.order:
        lm.schema.codecs[column].check_values(sampled[column])
    assert set(sampled['name']) <= set(table['name'])


def test_sdv_conditions(synthesizer):
    from sdv.sampling import Condition

    rows = _rows(synthesizer.sample_from_conditions([Condition({'name': 'say "hi"'}, num_rows=10),
                                               Condition({'flag': False}, num_rows=5)]))
    assert len(rows) == 15
    assert (rows['name'] == 'say "hi"').sum() >= 10


def test_merge_adapter_and_preamble(tiny_backbone, table, metadata):
    synth = LLMSynthesizer(metadata, backbone=tiny_backbone, serialization='text', epochs=1,
                           batch_size=64, enable_gpu=False, random_state=1, merge_adapter=True,
                           text_preamble=True)
    synth.fit({'tricky': table})
    prompt_text = synth._model.serializer.tokenizer.decode(synth._model.serializer.prompt[1:])
    assert prompt_text.startswith('Rows of the table tricky.') and '- count (numerical)' in \
        prompt_text
    assert len(_rows(synth.sample(20))) == 20


def test_ia3_config_is_passed_through(tiny_backbone, table, metadata):
    from peft import IA3Config

    config = IA3Config(task_type='CAUSAL_LM', target_modules=['c_attn', 'c_fc'],
                       feedforward_modules=['c_fc'])
    synth = LLMSynthesizer(metadata, backbone=tiny_backbone, epochs=1, batch_size=64,
                           enable_gpu=False, lora=config)
    synth.fit({'tricky': table})
    trainable = [n for n, p in synth._model.model.named_parameters() if p.requires_grad]
    assert trainable and all('ia3_' in n for n in trainable)


def test_bad_backbones(tmp_path, metadata, table):
    with pytest.raises(SynthesizerInputError, match='backbone'):
        LLMSynthesizer(metadata, backbone=str(tmp_path / 'missing'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='config.json'):
        LLMSynthesizer(metadata, backbone=str(empty), epochs=1).fit({'tricky': table})
    from transformers import DistilBertConfig, DistilBertModel

    encoder = tmp_path / 'distilbert'
    DistilBertModel(DistilBertConfig(dim=16, n_layers=1, n_heads=2, hidden_dim=32,
                                     vocab_size=50)).save_pretrained(encoder)
    with pytest.raises(ValueError, match='not a causal language model'):
        LLMSynthesizer(metadata, backbone=str(encoder), epochs=1).fit({'tricky': table})


def test_serialization_needs_the_matching_backbone(tiny_backbone, metadata, table):
    with pytest.raises(ValueError, match='needs a pretrained backbone'):
        LLMSynthesizer(metadata, serialization='text', epochs=1).fit({'tricky': table})
    with pytest.raises(ValueError, match="use 'text', 'json' or 'csv'"):
        LLMSynthesizer(metadata, backbone=tiny_backbone, serialization='compact',
                       epochs=1).fit({'tricky': table})
    with pytest.raises(ValueError, match="column_order='random' needs"):
        LLMSynthesizer(metadata, backbone=tiny_backbone, serialization='csv',
                       column_order='random', epochs=1).fit({'tricky': table})


def test_rows_longer_than_the_backbone_raise(tmp_path, metadata, table):
    from tests.pretrained.conftest import build_backbone

    short = build_backbone(tmp_path / 'short', ['a b c'] * 10, vocab_size=280, n_positions=16)
    with pytest.raises(ValueError, match='positions'):
        LLMSynthesizer(metadata, backbone=short, epochs=1).fit({'tricky': table})


def test_gradient_checkpointing_trains(tiny_backbone, table, metadata):
    synth = LLMSynthesizer(metadata, backbone=tiny_backbone, epochs=1, batch_size=64,
                           enable_gpu=False, gradient_checkpointing=True)
    synth.fit({'tricky': table})
    assert np.isfinite(synth.get_loss_values()['Loss']).all()
    assert synth._model.model.lm.get_base_model().is_gradient_checkpointing


def test_gradient_checkpointing_is_off_unless_asked(tiny_backbone):
    from sdv_llm.model.pretrained import (
        PretrainedSpec,
        build_pretrained,
        load_config,
        lora_config,
    )

    peft_config = lora_config(None, load_config(tiny_backbone).model_type)
    for enabled in (False, True):
        decoder = build_pretrained(PretrainedSpec(tiny_backbone, peft_config, False, enabled))
        assert decoder.lm.get_base_model().is_gradient_checkpointing == enabled
