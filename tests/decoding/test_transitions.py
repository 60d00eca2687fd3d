"""The automaton's transition table: the sparse layout answers exactly as the dense one."""

import numpy as np
import pandas as pd
import pytest
import torch

from sdv_llm.decoding import transitions as transitions_module
from sdv_llm.decoding.transitions import Transitions
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.conftest import TINY


def _random_pairs(rng, num_states, vocab_size, nnz):
    flat = rng.choice(num_states * vocab_size, size=nnz, replace=False)
    return flat // vocab_size, flat % vocab_size, rng.integers(0, num_states, nnz)


@pytest.mark.parametrize('seed', range(5))
def test_sparse_and_dense_layouts_agree(seed):
    rng = np.random.default_rng(seed)
    num_states, vocab_size = 40, 300
    pairs = _random_pairs(rng, num_states, vocab_size, 500)
    dense = Transitions.build(*pairs, num_states, vocab_size, sparse=False)
    sparse = Transitions.build(*pairs, num_states, vocab_size, sparse=True)
    assert sparse.sparse and not dense.sparse and sparse.nbytes < dense.nbytes
    states = torch.as_tensor(rng.integers(0, num_states, (7, 9)))
    tokens = torch.as_tensor(rng.integers(0, vocab_size, (7, 9)))
    tokens[0, :3] = torch.as_tensor(pairs[1][:3])  # some allowed pairs for sure
    states[0, :3] = torch.as_tensor(pairs[0][:3])
    assert torch.equal(sparse.step(states, tokens), dense.step(states, tokens))
    assert (dense.step(states, tokens) >= 0).any() and (dense.step(states, tokens) < 0).any()
    assert torch.equal(sparse.allowed(states), dense.allowed(states))
    assert torch.equal(sparse.num_allowed(), dense.num_allowed())
    more = _random_pairs(rng, 5, vocab_size, 60)
    extra = Transitions.build(*more, 5, vocab_size, sparse=False)
    for joined in (sparse.cat(extra), dense.cat(extra),
                   dense.cat(Transitions.build(*more, 5, vocab_size, sparse=True))):
        expected = dense.cat(extra)
        everything = torch.arange(num_states + 5)
        assert torch.equal(joined.allowed(everything), expected.allowed(everything))
        assert joined.num_states == num_states + 5


def test_large_tables_are_sparse():
    pairs = ([0, 1], [5, 149_999], [1, 0])
    table = Transitions.build(*pairs, 3_000, 150_000)  # 450M entries dense: 3.4 GiB of int64
    assert table.sparse and table.nbytes == 2 * 16
    assert table.step(torch.tensor([1, 1]), torch.tensor([149_999, 5])).tolist() == [0, -1]
    assert Transitions.build(*pairs, 3, 150_000).sparse is False


def test_training_and_sampling_do_not_depend_on_the_layout(monkeypatch, iris):
    """Same seed, same losses and the same rows (conditions included) with a sparse table."""
    iris, metadata = iris
    metadata = metadata.tables['iris'].columns
    species = next(c for c, m in metadata.items() if m['sdtype'] == 'categorical')

    def fit_and_sample():
        model = TabularLM(TabularLMConfig(**{**TINY, 'random_state': 3})).fit(iris, metadata)
        free = model.sample(50)
        model.set_random_state(3)
        conditioned = model.sample(20, conditions={species: iris[species].iloc[0]})
        return model, free, conditioned

    dense_model, *dense = fit_and_sample()
    monkeypatch.setattr(transitions_module, 'DENSE_LIMIT', 0)
    sparse_model, *sparse = fit_and_sample()
    assert sparse_model.automaton.transitions.sparse
    assert not dense_model.automaton.transitions.sparse
    pd.testing.assert_frame_equal(dense_model.loss_values.drop(columns='Seconds'),
                                  sparse_model.loss_values.drop(columns='Seconds'))
    for a, b in zip(dense, sparse):
        pd.testing.assert_frame_equal(a, b)
    assert (sparse[1][species] == iris[species].iloc[0]).all()
