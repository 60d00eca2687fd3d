"""The small-table defaults: ``mixed_training='auto'`` and ``critic_filter='auto'`` turn the
strategies on under ``SMALL_TABLE_ROWS`` training rows, off above it and under DP."""

import pickle

import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm.mixed import AUTO, resolve
from sdv_llm.model.critic import DEFAULTS, critic_settings
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.tables import linear_table

TINY = {'epochs': 1, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}


def _table():
    return linear_table(200)

def test_the_rule_is_the_documented_threshold():
    from sdv_llm.model import training

    assert training.SMALL_TABLE_ROWS == 0  # tests train plainly (conftest)...
    assert resolve('auto', 10) is None and critic_settings('auto', 10) is None


@pytest.mark.parametrize('threshold, strategies', [(2_000, True), (200, False)])
def test_auto_turns_the_strategies_on_below_the_threshold_only(monkeypatch, threshold,
                                                              strategies):
    monkeypatch.setattr('sdv_llm.model.training.SMALL_TABLE_ROWS', threshold)
    assert (resolve('auto', 200) == AUTO) is strategies
    assert (critic_settings('auto', 200) == DEFAULTS) is strategies
    assert resolve({'baseline': 'GaussianCopulaSynthesizer'}, 10**6) == {
        'baseline': 'GaussianCopulaSynthesizer'}  # an explicit setting stays on any table
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY)
    assert synthesizer.get_parameters()['mixed_training'] == 'auto'
    monkeypatch.setattr('sdv_llm.mixed.AUTO', {'baseline': 'FastGenSynthesizer', 'epochs': 1,
                                               'rows': 300})
    synthesizer.fit({'t': data})
    model = synthesizer._model
    assert (model.pretrain_rows is not None) is strategies
    assert (model.critic is not None) is strategies
    rows = synthesizer.sample(57)['t']
    assert len(rows) == 57 and set(rows['kind']) <= {'a', 'b', 'c'}
    unpickled = pickle.loads(pickle.dumps(synthesizer))  # nothing of the fit left unpicklable
    unpickled.reset_sampling()
    synthesizer.reset_sampling()
    pd.testing.assert_frame_equal(unpickled.sample(20)['t'], synthesizer.sample(20)['t'])


def test_auto_is_off_under_differential_privacy(monkeypatch):
    monkeypatch.setattr('sdv_llm.model.training.SMALL_TABLE_ROWS', 2_000)
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY, differential_privacy={'epsilon': 10.0,
                                                                         'delta': 1e-3})
    synthesizer.fit({'t': data})
    assert synthesizer._model.pretrain_rows is None and synthesizer._model.critic is None
