"""Native conditions: sample(conditions=...), sample_from_conditions, sample_remaining_columns,
impute and the column orders, through the SDV front end."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.sampling import Condition

from sdv_llm.single_table import LLMSynthesizer


def _fit(data, metadata, name, **params):
    synthesizer = LLMSynthesizer(metadata, **params)
    synthesizer.fit({name: data})
    return synthesizer


@pytest.fixture(scope='module')
def titanic_model():
    """One fitted model for the tests that only sample (each resets its sampling seed)."""
    from sdv.metadata import Metadata

    from tests.conftest import DATA, TINY

    data = pd.read_csv(DATA / 'titanic.csv')
    metadata = Metadata.detect_from_dataframes({'titanic': data})
    synthesizer = _fit(data, metadata, 'titanic', **TINY)
    return data, synthesizer


def test_sample_from_conditions_one_pass_all_rows_meet_them(titanic_model, monkeypatch):
    data, synthesizer = titanic_model
    synthesizer.reset_sampling()
    calls = []
    sample_known = synthesizer._model.sample_known
    monkeypatch.setattr(synthesizer._model, 'sample_known',
                        lambda *a, **k: calls.append(1) or sample_known(*a, **k))
    conditions = [Condition({'sex': 'female', 'pclass': 1}, num_rows=30),
                  Condition({'embarked': 'Q'}, num_rows=20),
                  Condition({'sex': 'male', 'pclass': 3}, num_rows=10)]
    table = synthesizer.sample_from_conditions(conditions)['titanic']
    assert len(calls) == 1 and len(table) == 60
    # SDV groups conditions by their columns; the rows come in that order.
    assert (table['sex'][:30] == 'female').all() and (table['pclass'][:30] == 1).all()
    assert (table['sex'][30:40] == 'male').all() and (table['pclass'][30:40] == 3).all()
    assert (table['embarked'][40:] == 'Q').all()
    assert set(table.columns) == set(data.columns)


def test_sample_with_value_sets_and_ranges(titanic_model):
    _, synthesizer = titanic_model
    table = synthesizer.sample(200, conditions={'age': (30, 40), 'embarked': ['C', 'Q'],
                                                'sex': 'female'})['titanic']
    assert len(table) == 200
    assert table['age'].between(30, 40).all()
    assert set(table['embarked']) <= {'C', 'Q'} and (table['sex'] == 'female').all()
    open_range = synthesizer.sample(50, conditions={'fare': (None, 10)})['titanic']
    assert (open_range['fare'] <= 10).all()


def test_sample_remaining_columns_keeps_every_known_row(titanic_model):
    data, synthesizer = titanic_model
    known = data[['sex', 'age', 'pclass']].head(120).reset_index(drop=True)
    table = synthesizer.sample_remaining_columns(known)['titanic']
    assert len(table) == 120
    for column in known:
        pd.testing.assert_series_equal(table[column].astype(float if column == 'age' else object),
                                       known[column].astype(float if column == 'age' else object),
                                       check_names=False)


def test_impute_fills_only_missing_cells(titanic_model):
    data, synthesizer = titanic_model
    rows = data.head(50).copy()
    rows.index = rows.index + 1000
    holes = rows.copy()
    holes.loc[holes.index[::2], 'embarked'] = np.nan
    holes.loc[holes.index[::3], 'fare'] = np.nan
    filled = synthesizer.impute(holes)
    assert filled.index.equals(holes.index)
    assert filled['fare'].notna().all() and filled['embarked'].notna().all()
    present = holes.notna()
    assert (filled[present] == holes[present]).sum().sum() == present.sum().sum()
    as_dict = synthesizer.impute({'titanic': holes})
    assert as_dict['titanic'].shape == holes.shape


def test_bad_conditions_raise_named_errors(titanic_model):
    _, synthesizer = titanic_model
    with pytest.raises(SynthesizerInputError, match="'sex'"):
        synthesizer.sample(5, conditions={'sex': 'unknown'})
    with pytest.raises(SynthesizerInputError, match="'age'"):
        synthesizer.sample(5, conditions={'age': (500, 600)})
    with pytest.raises(SynthesizerInputError, match="'fare'"):
        synthesizer.sample_from_conditions([Condition({'fare': -5.0}, num_rows=3)])
    with pytest.raises(SynthesizerInputError, match='nope'):
        synthesizer.sample(5, conditions={'nope': 1})


def test_sdv_per_combination_path_is_native(titanic_model):
    """SDV's own _sample(num_rows, conditions) path gets rows that all meet the condition."""
    _, synthesizer = titanic_model
    raw = synthesizer._sample(40, conditions={'embarked': 'Q'})
    assert len(raw) == 40 and (raw['embarked'] == 'Q').all()


@pytest.mark.parametrize('order', ['fd', 'random'])
def test_fd_and_random_orders_fit_and_sample_valid_rows(iris, tiny, order):
    data, metadata = iris
    data = data.assign(genus=data['species'].map({'setosa': 'a', 'versicolor': 'b',
                                                  'virginica': 'b'}))
    metadata.add_column('genus', sdtype='categorical', table_name='iris')
    synthesizer = _fit(data, metadata, 'iris', column_order=order, **tiny)
    info = synthesizer.get_column_order()
    assert info['column_order'] == order and sorted(info['order']) == sorted(data.columns)
    if order == 'fd':
        assert any(d.lhs == ('species',) and d.rhs == 'genus' for d in info['dependencies'])
        assert info['order'].index('species') < info['order'].index('genus')
    table = synthesizer.sample(100)['iris']
    assert len(table) == 100 and set(table['genus']) <= {'a', 'b'}
    conditioned = synthesizer.sample(30, conditions={'species': 'virginica'})['iris']
    assert (conditioned['species'] == 'virginica').all()


def test_fd_order_enforces_exact_dependencies(iris, tiny):
    """Even an undertrained model cannot break an exact dependency under the 'fd' order."""
    from sdv_llm.evaluation.dependencies import violation_rate

    data, metadata = iris
    data = data.assign(genus=data['species'].map({'setosa': 'a', 'versicolor': 'b',
                                                  'virginica': 'c'}))
    metadata.add_column('genus', sdtype='categorical', table_name='iris')
    synthesizer = _fit(data, metadata, 'iris', column_order='fd', **dict(tiny, epochs=1))
    dependencies = synthesizer.get_column_order()['dependencies']
    table = synthesizer.sample(500)['iris']
    assert violation_rate(data, table, dependencies) == 0.0
    # Conditions win over dependencies, also when they contradict each other.
    odd = synthesizer.sample(20, conditions={'genus': 'a', 'species': 'virginica'})['iris']
    assert (odd['genus'] == 'a').all() and (odd['species'] == 'virginica').all()
    ranged = synthesizer.sample(20, conditions={'genus': ['b', 'c']})['iris']
    assert violation_rate(data, ranged, dependencies) == 0.0
