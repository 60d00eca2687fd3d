"""Similarity-reward fine-tuning (sdv_llm.model.reward): settings, the path log-likelihood and the
KL term on known answers, the rewards, a policy gradient that follows a hand-made reward, and
LLMSynthesizer(reward_finetuning=...) end to end."""

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm.decoding.conditions import build_plan
from sdv_llm.decoding.windows import window_loss
from sdv_llm.model.reward import (
    DEFAULTS,
    CriticReward,
    MarginalReward,
    batch_log_probs,
    finetune,
    reward_settings,
    sequence_log_probs,
    shaped_rewards,
    trace_paths,
)
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.tables import linear_table

TINY = {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}


def _table(num_rows=300, seed=0):
    return linear_table(num_rows, seed, p=[0.2, 0.4, 0.4])

def _categories(num_rows=300, seed=0, dependent=False):
    """Two categorical columns: independent, or ``code`` a function of ``kind``."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(['a', 'b', 'c'], num_rows)
    flag = (np.array(['u', 'v', 'u'])[np.searchsorted(['a', 'b', 'c'], kind)] if dependent
            else rng.choice(['u', 'v'], num_rows))
    return pd.DataFrame({'kind': kind, 'flag': flag})


def _fitted(data, **parameters):
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}),
                                 **{**TINY, 'privacy': False, **parameters})
    synthesizer.fit({'t': data})
    return synthesizer._model


def _paths_of(model, rows):
    """``trace_paths`` of given rows (base order, no conditions), as if sampled."""
    ids = model.serializer.assemble(model.serializer.encode_blocks(rows))[:, 1:]
    plan = build_plan(model.serializer, model.automaton, len(rows), np.random.default_rng(0),
                      standing=getattr(model, 'column_restrictions', None))
    plan.dependencies = model.dependency_table
    return trace_paths(plan, ids, model.device)


# ----------------------------------------------------------------------- settings
def test_settings_fill_defaults_and_name_bad_values():
    assert reward_settings(None) is None and reward_settings(False) is None
    assert reward_settings(True) == DEFAULTS
    assert reward_settings({'steps': 5, 'kl': 0})['steps'] == 5
    assert reward_settings({'kl': 0})['kl'] == 0.0
    bad = [({'steps': 0}, 'steps'), ({'steps': 2.5}, 'steps'), ({'batch_rows': 1}, 'batch_rows'),
           ({'critic_every': True}, 'critic_every'), ({'kl': -1}, 'kl'),
           ({'kl': float('nan')}, 'kl'), ({'learning_rate': 0}, 'learning_rate'),
           ({'reward': 'auc'}, 'reward'), ({'epochs': 2}, 'epochs')]
    for value, name in bad:
        with pytest.raises(ValueError, match=f'reward_finetuning.*{name}|{name}.*reward_finetuning'):
            reward_settings(value)
    with pytest.raises(TypeError, match='reward_finetuning'):
        reward_settings('on')
    with pytest.raises(SynthesizerInputError, match='reward_finetuning'):
        LLMSynthesizer(Metadata.detect_from_dataframes({'t': _table(20)}),
                       reward_finetuning={'steps': -1})


# -------------------------------------------------------------- known answers
def test_kl_term_is_zero_when_the_policy_is_the_reference():
    model = _fitted(_table())
    rows, plan, ids = model._draw_paths(64, torch.Generator().manual_seed(0))
    paths = trace_paths(plan, ids, model.device)
    policy = batch_log_probs(model.model, paths)
    reference = batch_log_probs(copy.deepcopy(model.model), paths)
    rewards = torch.arange(64, dtype=torch.float32)
    shaped, divergence = shaped_rewards(rewards, policy, reference, 0.5)
    assert torch.equal(divergence, torch.zeros(64)) and torch.equal(shaped, rewards)
    shaped, divergence = shaped_rewards(rewards, policy + 2.0, policy, 0.5)
    assert torch.allclose(divergence, torch.full((64,), 2.0))
    assert torch.allclose(shaped, rewards - 1.0)
    assert len(rows) == 64 and (policy < 0).all()


def test_path_log_likelihood_is_minus_the_training_loss_sum():
    model = _fitted(_table(), column_order='fixed')
    rows, plan, ids = model._draw_paths(100, torch.Generator().manual_seed(1))
    paths = trace_paths(plan, ids, model.device)
    # The training path: the rows encoded again in the base order, the states along them.
    encoded = torch.as_tensor(model.serializer.assemble(model.serializer.encode_blocks(rows)))
    inputs, targets = encoded[:, :-1], encoded[:, 1:]
    columns = model.serializer.next_columns(targets)
    states = model.automaton.states_along(targets, columns)
    choices = model.automaton.transitions.num_allowed()
    labels = torch.where((choices[states] > 1) & (targets != model.automaton.pad), targets, -100)
    length = paths.inputs.shape[1]
    assert torch.equal(inputs[:, :length], paths.inputs)  # the sampled tokens, re-encoded
    assert torch.equal(labels[:, :length], paths.labels)
    assert (labels[:, length:] == -100).all()
    with torch.no_grad():
        hidden = model.model(input_ids=inputs, next_columns=columns, hidden=True)
        loss = window_loss(hidden, labels, states, model.automaton,
                           model.automaton.window_table(), model.model.output_weight())
        log_probs = sequence_log_probs(model.model, paths)
    learned = int((labels >= 0).sum())
    assert log_probs.sum().item() == pytest.approx(-loss.item() * learned, rel=1e-4)


@pytest.mark.parametrize('dependent', [False, True])
def test_probabilities_of_every_possible_row_sum_to_one(dependent):
    # Two categorical columns: every row the grammar allows (with an exact dependency, only
    # the rows that keep it: the dependent value is forced and has probability 1).
    model = _fitted(_categories(dependent=dependent))
    assert (model.dependency_table is not None) == dependent
    pairs = ([('a', 'u'), ('b', 'v'), ('c', 'u')] if dependent
             else list(itertools.product('abc', 'uv')))
    rows = pd.DataFrame(pairs, columns=['kind', 'flag'])[model.columns]
    paths = _paths_of(model, rows)
    total = batch_log_probs(model.model, paths).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-4)
    if dependent:  # a row that breaks the dependency is not a path of the plan
        with pytest.raises(ValueError, match='not allowed'):
            _paths_of(model, pd.DataFrame({'kind': ['a'], 'flag': ['v']})[model.columns])


def test_marginal_reward_is_the_log_ratio_of_the_shares():
    real = pd.DataFrame({'kind': ['a', 'b'] * 500, 'x': np.arange(1000.0)})
    batch = pd.DataFrame({'kind': ['a'] * 100 + ['b'] * 300,
                          'x': np.linspace(0, 999, 400)})
    reward = MarginalReward(real, {'kind': 'categorical', 'x': 'numerical'})
    values = reward(batch)
    # x follows the training values' distribution: its term is ~0; kind's is log(0.5 / share).
    assert values[0] == pytest.approx(np.log(0.5 / 0.25), abs=0.03)
    assert values[-1] == pytest.approx(np.log(0.5 / 0.75), abs=0.03)
    assert reward(real).max() == pytest.approx(0.0, abs=1e-9)  # the training rows themselves


def test_critic_reward_refits_on_schedule_and_scores_with_logits():
    real = _table(400)
    sdtypes = {'x': 'numerical', 'y': 'numerical', 'kind': 'categorical'}
    reward = CriticReward(real, sdtypes, every=3, rows=400, seed=0)
    draws = []

    def draw(num_rows):
        draws.append(num_rows)
        rows = _table(num_rows, seed=len(draws))
        return rows.assign(y=-rows['y']), None, None  # the relation of y and x reversed

    aucs = [reward.update(step, step == 4, draw) for step in range(5)]
    assert [np.isnan(a) for a in aucs] == [False, True, True, False, False]
    assert draws == [400, 400, 400] and aucs[0] > 0.9
    values = reward(real)
    assert values.shape == (400,) and np.allclose(values, reward.critic.logits(real))
    assert values.mean() > reward(draw(400)[0]).mean() + 1


def test_policy_gradient_raises_the_share_a_reward_prefers():
    model = _fitted(_table())
    generator = torch.Generator().manual_seed(0)
    settings = {**DEFAULTS, 'steps': 8, 'batch_rows': 128, 'kl': 0.0, 'learning_rate': 1e-2}
    before = copy.deepcopy(model.model.state_dict())
    history = finetune(model.model, lambda n: model._draw_paths(n, generator),
                       lambda rows: (rows['kind'] == 'a').to_numpy(float), settings,
                       model.device)
    assert list(history['Step']) == list(range(9)) and history['Updated'].sum() == 8
    assert history['Critic AUC'].isna().all()
    # The mean reward is the share of 'a' (0.2 in the training rows).
    assert history['Reward'].iloc[0] < 0.35
    assert history['Reward'].iloc[-1] > history['Reward'].iloc[0] + 0.2
    assert history['KL'].iloc[-1] > 0  # moved away from the reference
    assert not all(torch.equal(before[k], v) for k, v in model.model.state_dict().items())


# ------------------------------------------------------------------- end to end
@pytest.mark.parametrize('reward', ['critic', 'marginal'])
def test_synthesizer_fine_tunes_and_samples_exactly_n_valid_rows(reward):
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    settings = {'steps': 3, 'batch_rows': 64, 'reward': reward, 'critic_every': 2}
    runs = []
    for _ in range(2):
        synthesizer = LLMSynthesizer(metadata, **TINY, reward_finetuning=settings)
        synthesizer.fit({'t': data})
        rows = synthesizer.sample(123)['t']
        assert len(rows) == 123 and set(rows['kind']) <= {'a', 'b', 'c'}
        assert rows[['x', 'y']].notna().all().all()
        assert rows['x'].between(data['x'].min(), data['x'].max()).all()
        runs.append(rows)
        history = synthesizer._model.reward_history
        assert list(history['Step']) == [0, 1, 2, 3]
        assert history['Critic AUC'].notna().sum() == (3 if reward == 'critic' else 0)
    pd.testing.assert_frame_equal(runs[0], runs[1])
    plain = LLMSynthesizer(metadata, **TINY)
    plain.fit({'t': data})
    assert not runs[0].equals(plain.sample(123)['t'])
    assert plain._model.reward_history is None


def test_reward_history_is_kept_in_model_files(tmp_path):
    data = _table()
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), **TINY,
                                 reward_finetuning={'steps': 2, 'batch_rows': 32,
                                                    'reward': 'marginal'})
    synthesizer.fit({'t': data})
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    pd.testing.assert_frame_equal(loaded._model.reward_history,
                                  synthesizer._model.reward_history)


def test_refused_with_differential_privacy_and_merged_sub_tokens():
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    private = LLMSynthesizer(metadata, **TINY, reward_finetuning=True,
                             differential_privacy={'epsilon': 3.0})
    with pytest.raises(SynthesizerInputError, match='reward_finetuning'):
        private.fit({'t': data})
    merged = LLMSynthesizer(metadata, **TINY, reward_finetuning=True, merge_sub_tokens=True)
    with pytest.raises(ValueError, match='reward_finetuning'):
        merged.fit({'t': data})
