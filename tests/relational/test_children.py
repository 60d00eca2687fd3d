"""The children sequence: serialization, chunking, and decoding of sampled sequences."""

import numpy as np
import pandas as pd
import pytest

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

    def capture(encode_rows, num_rows, *args):
        captured['ids'], captured['context'], _ = encode_rows(np.arange(num_rows), None)
        return original(encode_rows, num_rows, *args)

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


def test_split_cuts_sequences_into_child_rows():
    model, captured = _fit([5, 1], max_children=2)
    rows, sequence = model.serializer.split(captured['ids'][:, 1:])
    assert list(sequence) == [0, 0, 1, 1, 2, 3]  # a chunk's closing <row> starts no row
    colors = model.serializer.decode(rows, ['color'])['color'].tolist()
    assert colors == ['blue'] * 5 + ['red']


def test_each_parent_gets_exactly_its_number_of_children_across_chunks():
    # One epoch has learned nothing about counts: the plan alone fixes them.
    model, _ = _fit([5, 1, 0, 3], max_children=2, epochs=1)
    parent = pd.DataFrame({'kind': ['a', 'b', 'c', 'd'] * 25})
    counts = np.random.default_rng(0).integers(0, 8, len(parent))
    children, owner = model.sample(parent, counts)
    assert len(children) == len(owner) == counts.sum()
    # Grouped by parent, in parent order, exactly counts[i] children each.
    assert owner.tolist() == np.repeat(np.arange(len(parent)), counts).tolist()
    assert set(children['color']) <= {'red', 'blue'}


def test_each_child_row_belongs_to_the_parent_whose_context_generated_it():
    """Children of kind-'b' parents are red, of kind-'a' parents blue; a model that learned
    that shows whether ``owner`` points at the sequence each row was decoded in (chunks too)."""
    kinds = np.array(['a', 'b'] * 150)
    owner = np.repeat(np.arange(len(kinds)), np.tile([2, 3], 150))
    children = pd.DataFrame({'color': np.where(kinds[owner] == 'b', 'red', 'blue')})
    model = ChildrenLM(TabularLMConfig(epochs=10, **CONFIG), max_children=2)
    model.fit(pd.DataFrame({'kind': kinds}), {'kind': {'sdtype': 'categorical'}}, children,
              {'color': {'sdtype': 'categorical'}}, owner)
    parent = pd.DataFrame({'kind': ['a', 'b'] * 50})
    counts = np.random.default_rng(0).integers(0, 6, len(parent))
    sampled, sampled_owner = model.sample(parent, counts)
    expected = np.where(parent['kind'].to_numpy()[sampled_owner] == 'b', 'red', 'blue')
    assert (sampled['color'].to_numpy() == expected).mean() > 0.8


def test_without_chunks_the_cap_is_the_most_children_of_a_training_parent():
    model, _ = _fit([1, 0, 1], max_children=8)
    assert model.max_children == 1 and model.max_chunks == 1
    assert CONTINUED not in model.serializer.context_columns


def test_counts_are_checked():
    model, _ = _fit([1, 2], max_children=8)
    parent = pd.DataFrame({'kind': ['a', 'b']})
    for counts in ([1], [1, -1]):
        with pytest.raises(ValueError, match='counts must give'):
            model.sample(parent, counts)


@pytest.mark.parametrize('privacy', [None, False])
def test_rare_child_values_are_not_generated_under_value_protection(privacy):
    """Value protection covers the generated child columns (the default), as it covers a
    single table: a category of 2 child rows is never sampled; ``privacy=False`` keeps it."""
    rng = np.random.default_rng(0)
    parent = pd.DataFrame({'kind': rng.choice(['a', 'b'], 60)})
    owner = np.repeat(np.arange(60), 3)
    color = rng.choice(['red', 'blue', 'green'], len(owner)).astype(object)
    color[[5, 77]] = 'violet'  # in 2 rows: rare for any threshold of 5 or more
    children = pd.DataFrame({'color': color})
    config = TabularLMConfig(epochs=2, privacy=privacy, **CONFIG)
    model = ChildrenLM(config).fit(parent, {'kind': {'sdtype': 'categorical'}}, children,
                                   {'color': {'sdtype': 'categorical'}}, owner)
    codec = model.schema.codecs['color']
    if privacy is None:
        assert model.privacy_report['value_protection']['hidden_categories']['color'] == {
            'categories': 1, 'rows': 2}
        sampled, _ = model.sample(parent, np.full(60, 20))
        assert 'violet' not in set(sampled['color'])
        assert set(sampled['color']) <= {'red', 'blue', 'green'}
    else:
        assert model.privacy_report['value_protection'] is None
        assert 'violet' in codec.categories
