"""Critic filtering (sdv_llm.model.critic): the critic on known answers, the selection and its
bound, and LLMSynthesizer(critic_filter=...) end to end."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm.model.critic import Critic, critic_settings
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.tables import linear_table

TINY = {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}
SDTYPES = {'x': 'numerical', 'y': 'numerical', 'kind': 'categorical'}


def _correlated(num_rows, sign, seed):
    """Rows whose y follows x with slope ``sign`` (kind 'a') or ``-sign`` (kind 'b')."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, num_rows)
    kind = rng.choice(['a', 'b'], num_rows)
    slope = np.where(kind == 'a', sign, -sign)
    return pd.DataFrame({'x': x, 'y': slope * x + rng.normal(0, 0.3, num_rows), 'kind': kind})


def test_settings_fill_defaults_and_name_bad_values():
    assert critic_settings(None) is None and critic_settings(False) is None
    assert critic_settings(True) == {'ratio': 3.0, 'mode': 'weighted', 'rows': None}
    assert critic_settings({'ratio': 3, 'mode': 'weighted'})['ratio'] == 3.0
    for bad, name in [({'ratio': 1}, 'ratio'), ({'ratio': float('inf')}, 'ratio'),
                      ({'mode': 'best'}, 'mode'), ({'rows': 0}, 'rows'), ({'size': 2}, 'size')]:
        with pytest.raises(ValueError, match=name):
            critic_settings(bad)
    with pytest.raises(SynthesizerInputError, match='critic_filter'):
        LLMSynthesizer(Metadata.detect_from_dataframes({'t': _correlated(10, 1, 0)}),
                       critic_filter={'ratio': 0.5})


def test_critic_cannot_tell_rows_of_one_distribution_apart():
    critic = Critic.fit(_correlated(1500, 1, 0), _correlated(1500, 1, 1), SDTYPES,
                        critic_settings(True))
    assert 0.4 < critic.report['auc'] < 0.6


def test_critic_finds_a_relation_the_sample_gets_wrong_and_top_keeps_the_right_rows():
    # Sampled rows: half follow the real relation between x, y and kind, half the opposite.
    real = _correlated(1000, 1, 0)
    good, bad = _correlated(1000, 1, 1), _correlated(1000, -1, 2)
    synthetic = pd.concat([good, bad], ignore_index=True)
    critic = Critic.fit(real, synthetic, SDTYPES, critic_settings({'ratio': 2.0, 'mode': 'top'}))
    assert critic.report['auc'] > 0.7
    logits = critic.logits(synthetic)
    assert logits[:1000].mean() > logits[1000:].mean() + 1
    drawn = pd.concat([_correlated(300, 1, 3), _correlated(300, -1, 4)], ignore_index=True)
    kept = critic.select(drawn, 300, np.random.default_rng(0))
    assert len(kept) == 300 and len(set(kept)) == 300 and (np.diff(kept) > 0).all()
    assert (kept < 300).mean() > 0.75  # rows near x = 0 fit both relations
    critic.mode = 'weighted'
    weighted = critic.select(drawn, 300, np.random.default_rng(0))
    assert len(set(weighted)) == 300 and 0.6 < (weighted < 300).mean() < (kept < 300).mean()


def test_kept_rows_stay_within_the_documented_bound():
    rng = np.random.default_rng(0)
    real = _correlated(500, 1, 0)
    critic = Critic.fit(real, _correlated(500, -1, 1), SDTYPES, critic_settings({'ratio': 1.5}))
    for seed in range(5):
        drawn = _correlated(critic.drawn_rows(200), int(rng.choice([-1, 1])), seed + 10)
        assert len(drawn) == 300
        kept = drawn.iloc[critic.select(drawn, 200, rng)]
        for event in (drawn['kind'] == 'a', drawn['x'] > 0, drawn['y'] > 0.5):
            share_drawn, share_kept = event.mean(), event.loc[kept.index].mean()
            assert share_kept <= 1.5 * share_drawn + 1e-12
            assert share_kept >= 1.5 * share_drawn - 0.5 - 1e-12


def test_select_per_row_keeps_one_draw_of_each_row():
    critic = Critic.fit(_correlated(400, 1, 0), _correlated(400, -1, 1), SDTYPES,
                        critic_settings(True))
    rows = pd.concat([_correlated(1, -1, 5 + i) if i % 2 else _correlated(1, 1, 5 + i)
                      for i in range(20)], ignore_index=True)
    kept = critic.select_per_row(rows, 10, 2, np.random.default_rng(0))
    assert list(kept // 2) == list(range(10))


def _table():
    data = linear_table()
    data.loc[0, 'kind'] = 'once'  # value protection hides it
    return data

def test_synthesizer_with_critic_returns_exactly_n_valid_rows_and_saves_it(tmp_path):
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY, critic_filter={'ratio': 2.0, 'rows': 400})
    synthesizer.fit({'t': data})
    critic = synthesizer._model.critic
    assert critic.report['real_rows'] == 300 and critic.report['synthetic_rows'] == 400
    assert 'once' not in dict(critic.categorical)['kind']  # no hidden value in the critic
    rows = synthesizer.sample(123)['t']
    assert len(rows) == 123 and set(rows['kind']) <= {'a', 'b', 'c'}
    known = data[['kind', 'x']].iloc[1:8].reset_index(drop=True)
    filled = synthesizer.sample_remaining_columns(known)['t']
    assert len(filled) == 7 and (filled['x'].to_numpy() == known['x'].to_numpy()).all()
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    assert loaded._model.critic.report == critic.report
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    pd.testing.assert_frame_equal(synthesizer.sample(60)['t'], loaded.sample(60)['t'])
    # The filter changes the rows against the same model without it.
    synthesizer._model.critic = None
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    assert not synthesizer.sample(60)['t'].equals(loaded.sample(60)['t'])


def test_critic_is_refused_with_differential_privacy():
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY, critic_filter=True,
                                 differential_privacy={'epsilon': 3.0})
    with pytest.raises(SynthesizerInputError, match='critic_filter'):
        synthesizer.fit({'t': data})


def test_the_core_refuses_an_explicit_critic_under_differential_privacy():
    # The path of fits that skip LLMSynthesizer's checks (fit_processed_data in multi-table).
    from sdv_llm.tabular_lm import TabularLM, TabularLMConfig

    config = TabularLMConfig(critic_filter={'ratio': 3.0, 'mode': 'weighted', 'rows': None},
                             differential_privacy={'epsilon': 3.0})
    with pytest.raises(ValueError, match='critic filter'):
        TabularLM(config).fit(_table(), {c: {'sdtype': s} for c, s in SDTYPES.items()})
