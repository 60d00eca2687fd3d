"""The children sequence: serialization, chunking, and decoding of sampled sequences."""

import numpy as np
import pandas as pd

from sdv_llm.relational.children import CONTINUED, ROW, ChildrenLM
from sdv_llm.serialization.compact import BOS, EOS, PAD
from sdv_llm.tabular_lm import TabularLMConfig
from tests.conftest import TINY

CONFIG = {k: v for k, v in TINY.items() if k != 'epochs'}


def _data(counts):
    parent = pd.DataFrame({'kind': ['a', 'b', 'c', 'd'][: len(counts)]})
    owner = np.repeat(np.arange(len(counts)), counts)
    children = pd.DataFrame({'color': np.where(owner % 2, 'red', 'blue')})
    metadata = ({'kind': {'sdtype': 'categorical'}}, {'color': {'sdtype': 'categorical'}})
    return parent, children, owner, metadata


def _fit(counts, max_children, epochs=1):
    parent, children, owner, (parent_meta, child_meta) = _data(counts)
    model = ChildrenLM(TabularLMConfig(epochs=epochs, **CONFIG), max_children=max_children)
    captured = {}
    original = model._train

    def capture(encode_rows, num_rows):
        captured['ids'], captured['context'] = encode_rows(np.arange(num_rows), None)
        return original(encode_rows, num_rows)

    model._train = capture
    model.fit(parent, parent_meta, children, child_meta, owner)
    return model, captured


def test_a_sequence_is_the_parent_context_then_each_child_after_a_row_token():
    model, captured = _fit([2, 0, 1], max_children=8)
    ids = captured['ids']
    assert CONTINUED not in model.serializer.context_columns  # no parent needs chunks
    assert len(ids) == 3
    # <bos> kind <row> color <row> color <eos>
    assert list(ids[0, :7] == np.array([BOS, ids[0, 1], ROW, ids[0, 3], ROW, ids[0, 5], EOS]))
    assert ids[1, 2] == EOS and (ids[1, 3:] == PAD).all()  # zero children: context then <eos>
    assert (captured['context'] == 1).all()  # the context token is left out of the loss


def test_parents_with_more_children_than_the_cap_are_split_into_flagged_chunks():
    model, captured = _fit([5, 1], max_children=2)
    assert model.max_children == 2 and model.max_chunks == 3
    assert model.serializer.context_columns[-1] == CONTINUED
    ids = captured['ids']
    assert len(ids) == 4  # 5 children -> chunks of 2, 2, 1; the other parent one sequence
    rows = (ids == ROW).sum(axis=1)
    ends = (ids == EOS).sum(axis=1)
    # Chunks that go on end with the <row> of the next child; the last chunk with <eos>.
    assert list(rows) == [3, 3, 1, 1] and list(ends) == [0, 0, 1, 1]
    flags = model.serializer.decode(ids[:, 1:], [CONTINUED])[CONTINUED].tolist()
    assert flags == ['first', 'continued', 'continued', 'first']


def test_split_cuts_sampled_sequences_into_child_rows_and_marks_cut_sequences():
    model, captured = _fit([5, 1], max_children=2)
    rows, sequence, cut = model.serializer.split(captured['ids'][:, 1:])
    assert list(sequence) == [0, 0, 1, 1, 2, 3]
    assert list(cut) == [True, True, False, False]
    colors = model.serializer.decode(rows, ['color'])['color'].tolist()
    assert colors == ['blue'] * 5 + ['red']


def test_sampling_gives_each_parent_its_children_and_continues_cut_parents():
    model, _ = _fit([5, 1, 0, 3], max_children=2, epochs=1)
    parent = pd.DataFrame({'kind': ['a', 'b', 'c', 'd'] * 25})
    children, owner = model.sample(parent)
    assert len(children) == len(owner)
    assert np.all(np.diff(owner) >= 0) and (owner < len(parent)).all()
    assert set(children['color']) <= {'red', 'blue'}
    counts = np.bincount(owner, minlength=len(parent))
    assert counts.max() <= 5  # never more than the most children of a training parent


def test_without_chunks_the_cap_is_the_most_children_of_a_training_parent():
    model, _ = _fit([1, 0, 1], max_children=8)
    assert model.max_children == 1 and model.max_chunks == 1
    _, owner = model.sample(pd.DataFrame({'kind': ['a', 'b', 'c'] * 30}))
    assert np.bincount(owner).max() <= 1


def test_every_sampled_count_is_within_the_training_minimum_and_maximum():
    # Fewest 3 children, most 4: one epoch cannot have learned it; the automaton enforces it.
    model, _ = _fit([3, 4, 3], max_children=8, epochs=1)
    assert (model.min_count, model.max_count) == (3, 4)
    _, owner = model.sample(pd.DataFrame({'kind': ['a', 'b', 'c'] * 40}))
    counts = np.bincount(owner, minlength=120)
    assert counts.min() >= 3 and counts.max() <= 4


def test_a_minimum_above_the_cap_forces_further_chunks():
    # Fewest 5 children with chunks of 2: the first two chunks must go on, the third may end.
    model, _ = _fit([5, 6, 7], max_children=2, epochs=1)
    assert model.max_chunks == 4 and model.min_count == 5
    _, owner = model.sample(pd.DataFrame({'kind': ['a', 'b', 'c'] * 20}))
    counts = np.bincount(owner, minlength=60)
    assert counts.min() >= 5 and counts.max() <= 7
