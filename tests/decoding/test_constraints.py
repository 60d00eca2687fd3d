"""SDV constraints with LLMSynthesizer: enforced while decoding, kept with conditions.

Inequality, Range, FixedCombinations, OneHotEncoding and FixedIncrements are decoding rules;
ProgrammableConstraint takes SDV's transform path with the raw-value data processing kept.
"""

import numpy as np
import pandas as pd
import pytest
from sdv.cag import (
    FixedCombinations,
    FixedIncrements,
    Inequality,
    OneHotEncoding,
    Range,
    SingleTableProgrammableConstraint,
)
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.sampling import Condition

from sdv_llm.decoding.constraints import Allowed, constraint_rules
from sdv_llm.single_table import LLMSynthesizer

TINY = {'epochs': 3, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}


def _table(num_rows=600, seed=0):
    rng = np.random.default_rng(seed)
    low = rng.integers(20, 60, num_rows)
    kind = rng.choice(['x', 'y', 'z'], num_rows)
    hot = rng.integers(0, 3, num_rows)
    return pd.DataFrame({
        'low': low, 'high': low + rng.integers(1, 30, num_rows),
        'kind': kind,
        'sub': np.where(kind == 'x', rng.choice(['p', 'q'], num_rows),
                        np.where(kind == 'y', 'r', rng.choice(['s', 't'], num_rows))),
        'step': rng.integers(1, 20, num_rows) * 5,
        'h0': (hot == 0).astype(int), 'h1': (hot == 1).astype(int), 'h2': (hot == 2).astype(int),
    })


def _metadata(data):
    metadata = Metadata.detect_from_dataframes({'t': data})
    for column in ('h0', 'h1', 'h2', 'step'):
        metadata.update_column(column, 't', sdtype='numerical')
    return metadata


@pytest.fixture(scope='module')
def constrained():
    data = _table()
    synthesizer = LLMSynthesizer(_metadata(data), **TINY)
    synthesizer.add_constraints([Inequality('low', 'high'), FixedCombinations(['kind', 'sub'])])
    synthesizer.fit({'t': data})
    return synthesizer, data


def test_rules_bound_the_later_column_both_ways():
    data = pd.DataFrame({'low': [1, 2, 3], 'high': [2, 5, 4], 'a': ['u', 'u', 'v'],
                         'b': ['m', 'n', 'm']})
    rules = constraint_rules([Inequality('low', 'high', strict_boundaries=True),
                              FixedCombinations(['a', 'b'])], data)
    by_pair = {(d, e): mapping for d, e, mapping in rules}
    assert by_pair['low', 'high'][2] == Allowed('range', (2.5, None))
    assert by_pair['high', 'low'][4] == Allowed('range', (None, 3.5))
    assert set(by_pair['a', 'b']['u'].args[0]) == {'m', 'n'}
    assert by_pair['b', 'a']['n'].args[0] == ('u',)


def test_decoded_constraints_hold_without_rejection_in_most_rows(constrained):
    synthesizer, data = constrained
    assert [type(c).__name__ for c in synthesizer.get_constraints()] == [
        'Inequality', 'FixedCombinations']
    raw = synthesizer._model.sample(3000)  # the model's rows, before SDV's check
    assert (raw['high'] < raw['low']).mean() < 0.02
    seen = set(map(tuple, data[['kind', 'sub']].to_numpy()))
    assert all(pair in seen for pair in map(tuple, raw[['kind', 'sub']].to_numpy()))
    unconstrained = LLMSynthesizer(_metadata(data), **TINY)
    unconstrained.fit({'t': data})
    assert (unconstrained._model.sample(3000).eval('high < low')).mean() > 0.1


def test_sampling_returns_exact_counts_of_valid_rows(constrained):
    synthesizer, _ = constrained
    rows = synthesizer.sample(700)['t']
    assert len(rows) == 700
    synthesizer.validate_constraints(rows)


def test_known_values_and_conditions_keep_the_constraints(constrained):
    synthesizer, _ = constrained
    known = pd.DataFrame({'low': [45] * 200}, index=range(100, 300))
    rows = synthesizer.sample_remaining_columns(known)['t']
    assert len(rows) == 200 and (rows['high'] >= 45).all()
    assert list(rows.index) == list(known.index)  # the caller's index, as GaussianCopula
    rows = synthesizer.sample_remaining_columns(pd.DataFrame({'high': [30] * 100}))['t']
    assert (rows['low'] <= 30).all()
    rows = synthesizer.sample_from_conditions([Condition({'kind': 'y'}, num_rows=80)])['t']
    assert len(rows) == 80 and set(rows['sub']) == {'r'}
    rows = synthesizer.sample(120, conditions={'low': (50, 55)})['t']
    synthesizer.validate_constraints(rows)
    assert rows['low'].between(50, 55).all()


def test_known_values_that_break_a_constraint_are_named(constrained):
    synthesizer, _ = constrained
    with pytest.raises(SynthesizerInputError, match='Inequality'):
        synthesizer.sample_remaining_columns(pd.DataFrame({'low': [50], 'high': [40]}),
                                             max_tries_per_batch=5)


@pytest.fixture(scope='module')
def incremented():
    data = _table(400)
    synthesizer = LLMSynthesizer(_metadata(data), **TINY)
    synthesizer.add_constraints([FixedIncrements('step', 5), OneHotEncoding(['h0', 'h1', 'h2'])])
    synthesizer.fit({'t': data})
    return synthesizer, data


def test_one_hot_and_increments_hold_while_decoding(incremented):
    synthesizer, _ = incremented
    assert synthesizer._chained_constraints == []  # no SDV transform: the model sees raw columns
    assert synthesizer._model.column_restrictions['step'] == list(range(5, 100, 5))
    raw = synthesizer._model.sample(2000)  # the model's rows, before SDV's check
    assert (raw['step'] % 5 == 0).all()
    assert (raw[['h0', 'h1', 'h2']].sum(axis=1) <= 1).all()  # a 1 forbids the other 1s
    rows = synthesizer.sample(500)['t']
    assert len(rows) == 500
    synthesizer.validate_constraints(rows)
    assert (rows[['h0', 'h1', 'h2']].sum(axis=1) == 1).all()


def test_range_conditions_on_an_incremented_column_keep_its_multiples(incremented):
    synthesizer, _ = incremented
    rows = synthesizer.sample(100, conditions={'step': (12, 31)})['t']
    assert len(rows) == 100 and set(rows['step']) <= {15, 20, 25, 30}
    with pytest.raises(SynthesizerInputError, match="'step'"):
        synthesizer.sample(10, conditions={'step': (11, 14)})


def test_one_hot_and_increments_survive_save_pretrained(incremented, tmp_path):
    synthesizer, _ = incremented
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    assert [type(c).__name__ for c in loaded.get_constraints()] == [
        'FixedIncrements', 'OneHotEncoding']
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    rows = loaded.sample(200)['t']
    pd.testing.assert_frame_equal(rows, synthesizer.sample(200)['t'])
    loaded.validate_constraints(rows)


class _EvenTotal(SingleTableProgrammableConstraint):
    """Rows whose low + high is even (no transform: SDV checks the sampled rows)."""

    def fit(self, data, metadata):
        pass

    def get_updated_metadata(self, metadata):
        return metadata

    def transform(self, data):
        return data

    def reverse_transform(self, transformed_data):
        return transformed_data

    def is_valid(self, synthetic_data):
        return (synthetic_data['low'] + synthetic_data['high']) % 2 == 0


def test_transformed_constraints_keep_the_raw_value_path():
    data = _table()
    synthesizer = LLMSynthesizer(_metadata(data), **TINY)
    synthesizer.add_constraints([FixedIncrements('step', 5), OneHotEncoding(['h0', 'h1', 'h2']),
                                 Inequality('low', 'high'), _EvenTotal()])
    synthesizer.fit({'t': data})
    assert synthesizer._model.schema.codecs['kind'].__class__.__name__ == 'CategoricalCodec'
    rows = synthesizer.sample(300)['t']
    assert len(rows) == 300
    synthesizer.validate_constraints(rows)
    assert set(rows['kind']) <= {'x', 'y', 'z'}
    rows = synthesizer.sample_remaining_columns(pd.DataFrame({'kind': ['x'] * 40}))['t']
    assert len(rows) == 40 and (rows['kind'] == 'x').all()


def test_range_is_two_inequalities():
    rng = np.random.default_rng(1)
    low = rng.integers(0, 20, 500)
    data = pd.DataFrame({'a': low, 'b': low + rng.integers(0, 10, 500)})
    data['c'] = data['b'] + rng.integers(0, 10, 500)
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), **TINY)
    synthesizer.add_constraints([Range('a', 'b', 'c', strict_boundaries=False)])
    synthesizer.fit({'t': data})
    rows = synthesizer.sample(400)['t']
    assert len(rows) == 400 and (rows['a'] <= rows['b']).all() and (rows['b'] <= rows['c']).all()


def test_strict_range_excludes_equal_values():
    rng = np.random.default_rng(2)
    low = rng.integers(0, 20, 500)
    data = pd.DataFrame({'a': low, 'b': low + rng.integers(1, 10, 500)})
    data['c'] = data['b'] + rng.integers(1, 10, 500)
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), **TINY)
    synthesizer.add_constraints([Range('a', 'b', 'c')])
    synthesizer.fit({'t': data})
    raw = synthesizer._model.sample(2000)
    assert ((raw['a'] >= raw['b']) | (raw['b'] >= raw['c'])).mean() < 0.02
    rows = synthesizer.sample(300)['t']
    assert (rows['a'] < rows['b']).all() and (rows['b'] < rows['c']).all()


def test_decoding_constraints_survive_save_pretrained(constrained, tmp_path):
    import json

    from sdv_llm.persistence import ModelFileError

    synthesizer, _ = constrained
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    assert [type(c).__name__ for c in loaded.get_constraints()] == [
        'Inequality', 'FixedCombinations']
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    rows = loaded.sample(300)['t']
    pd.testing.assert_frame_equal(rows, synthesizer.sample(300)['t'])
    loaded.validate_constraints(rows)
    broken = rows.copy()
    broken.loc[0, ['kind', 'sub']] = ['x', 'r']  # a pair never seen together
    from sdv.cag._errors import ConstraintNotMetError

    with pytest.raises(ConstraintNotMetError, match='requirement is not met'):
        loaded.validate_constraints(broken)
    path = tmp_path / 'model' / 'sdv_llm.json'
    state = json.loads(path.read_text())
    state['constraints'][0]['constraint']['class_name'] = 'os.system'
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match='os.system'):
        LLMSynthesizer.from_pretrained(tmp_path / 'model')


def test_programmable_constraints_are_not_saved_in_the_safe_format(tmp_path):
    data = _table(200)
    synthesizer = LLMSynthesizer(_metadata(data), **TINY)
    synthesizer.add_constraints([_EvenTotal()])
    synthesizer.fit({'t': data})
    with pytest.raises(NotImplementedError, match='programmable constraint is code'):
        synthesizer.save_pretrained(tmp_path / 'model')


def test_value_conditions_with_programmable_constraints_go_through_sdv():
    data = _table(300)
    synthesizer = LLMSynthesizer(_metadata(data), **TINY)
    synthesizer.add_constraints([_EvenTotal()])
    synthesizer.fit({'t': data})
    rows = synthesizer.sample(30, conditions={'kind': 'x'})['t']
    assert len(rows) == 30 and (rows['kind'] == 'x').all()
    assert ((rows['low'] + rows['high']) % 2 == 0).all()
    with pytest.raises(SynthesizerInputError, match='single values'):
        synthesizer.sample(5, conditions={'kind': ['x', 'y']})
