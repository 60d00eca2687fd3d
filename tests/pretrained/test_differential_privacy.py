"""LoRA adapters on a pretrained backbone trained with DP-SGD (opacus)."""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm.single_table import LLMSynthesizer
from tests.pretrained.conftest import tricky_table

DP = {'epsilon': 4.0, 'delta': 1e-3}


@pytest.fixture(scope='module')
def private(tiny_backbone):
    data = tricky_table(64, seed=5)[['count', 'flag']]
    data['name'] = np.random.default_rng(5).choice(['plain', 'ünï'], len(data))
    names = ['plain', 'ünï', 'never seen']
    metadata = Metadata.load_from_dict({'tables': {'tricky': {'columns': {
        'name': {'sdtype': 'categorical', 'range_values': names},
        'count': {'sdtype': 'numerical', 'range_min': 0, 'range_max': 50, 'decimal_places': 0},
        'flag': {'sdtype': 'boolean'},
    }}}})
    synthesizer = LLMSynthesizer(metadata, backbone=tiny_backbone, epochs=1, batch_size=32,
                                 enable_gpu=False, random_state=0, sample_batch_size=64,
                                 lora={'r': 4, 'lora_alpha': 8, 'lora_dropout': 0.0},
                                 differential_privacy=DP)
    synthesizer.fit({'tricky': data})
    return data, names, synthesizer


def test_only_the_adapter_trains_and_it_moved(private):
    _, _, synthesizer = private
    model = synthesizer._model.model
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all('lora_' in name for name in trainable)
    assert any(float(p.abs().sum()) > 0 for name, p in model.named_parameters()
               if 'lora_B' in name)
    assert not any(hasattr(p, 'grad_sample') for p in model.parameters())


def test_epsilon_is_the_accountants(private):
    from opacus.accountants import RDPAccountant

    data, _, synthesizer = private
    info = synthesizer.get_privacy_info()['differential_privacy']
    steps_per_epoch = int(np.ceil(len(data) / 32))
    assert info['steps'] == steps_per_epoch
    accountant = RDPAccountant()
    accountant.history = [(info['noise_multiplier'], 1 / steps_per_epoch, info['steps'])]
    assert info['epsilon'] == pytest.approx(accountant.get_epsilon(DP['delta']), rel=1e-9)
    assert info['epsilon'] <= DP['epsilon'] + 0.01


def test_samples_n_rows_of_declared_values(private):
    _, names, synthesizer = private
    sampled = synthesizer.sample(8)['tricky']
    assert len(sampled) == 8
    assert set(sampled['name'].dropna()) <= set(names)
    assert pd.to_numeric(sampled['count']).between(0, 50).all()
