"""LLMSynthesizer through SDV's API on small real tables."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.utils import load_synthesizer

from sdv_llm import LLMSynthesizer


def _fit(data, metadata, name, **params):
    synthesizer = LLMSynthesizer(metadata, **params)
    synthesizer.fit({name: data})
    return synthesizer


def test_registered_in_sdv_single_table():
    import sdv.single_table
    from sdv.single_table import LLMSynthesizer as registered

    assert registered is LLMSynthesizer
    assert 'LLMSynthesizer' in dir(sdv.single_table)


def test_fit_sample_exact_rows_all_valid(titanic, tiny):
    data, metadata = titanic
    synthesizer = _fit(data, metadata, 'titanic', **tiny)
    sampled = synthesizer.sample(num_rows=1234)
    assert list(sampled) == ['titanic']
    table = sampled['titanic']
    assert len(table) == 1234 and list(table.columns) == list(data.columns)
    assert set(table['sex']) <= {'male', 'female'}
    assert table['fare'].dropna().between(0, 512).all()
    assert table['age'].isna().any()  # nulls are learned as a token
    assert table['embarked'].dropna().isin(['S', 'C', 'Q']).all()


def test_sample_with_batch_size(iris, tiny):
    data, metadata = iris
    synthesizer = _fit(data, metadata, 'iris', **tiny)
    assert len(synthesizer.sample(num_rows=250, batch_size=60)['iris']) == 250


def test_same_seed_same_rows(iris, tiny):
    data, metadata = iris
    first = _fit(data, metadata, 'iris', **tiny)
    second = _fit(data, metadata, 'iris', **tiny)
    a = first.sample(num_rows=50)['iris']
    pd.testing.assert_frame_equal(a, second.sample(num_rows=50)['iris'])
    b = first.sample(num_rows=50)['iris']
    assert not a.equals(b)
    first.reset_sampling()
    pd.testing.assert_frame_equal(a, first.sample(num_rows=50)['iris'])


def test_loss_values_like_ctgan(iris, tiny):
    data, metadata = iris
    losses = _fit(data, metadata, 'iris', **tiny).get_loss_values()
    assert list(losses.columns[:4]) == ['Epoch', 'Step', 'Loss', 'Validation Loss']
    assert len(losses) == 2 and losses['Loss'].notna().all()


def test_save_and_load_keeps_rows_and_no_training_data(tmp_path, titanic, tiny):
    data, metadata = titanic
    synthesizer = _fit(data, metadata, 'titanic', **tiny)
    path = tmp_path / 'model.pkl'
    synthesizer.save(path)
    loaded = load_synthesizer(str(path))
    synthesizer.reset_sampling()
    pd.testing.assert_frame_equal(synthesizer.sample(num_rows=40)['titanic'],
                                  loaded.sample(num_rows=40)['titanic'])
    assert path.stat().st_size < 2_000_000
    stored = [v for k, v in vars(loaded._model).items() if k != 'loss_values']
    assert not any(isinstance(v, (pd.DataFrame, np.ndarray)) for v in stored)


def test_get_parameters_lists_every_argument(iris):
    _, metadata = iris
    parameters = LLMSynthesizer(metadata, epochs=3, column_order='fixed').get_parameters()
    assert parameters['epochs'] == 3 and parameters['enable_gpu'] is True
    assert 'locales' in parameters and 'random_state' in parameters


def test_every_sdtype_and_keys_and_pii(tiny):
    rng = np.random.default_rng(0)
    n = 300
    data = pd.DataFrame({
        'id': range(n),
        'email': [f'user{i}@example.com' for i in range(n)],
        'amount': rng.normal(100, 30, n).round(2),
        'count': rng.integers(-5, 50, n),
        'when': pd.date_range('2021-01-01', periods=n, freq='6h').strftime('%Y-%m-%d %H:%M'),
        'kind': rng.choice(['a', 'b', None], n),
        'flag': rng.choice([True, False], n),
        'level': rng.choice([1, 2, 3], n),
        'name': [f'item-{i % 97}' for i in range(n)],
    })
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('id', sdtype='id', table_name='t')
    metadata.set_primary_key('id', table_name='t')
    metadata.update_column('flag', sdtype='boolean', table_name='t')
    metadata.update_column('level', sdtype='ordinal', table_name='t')
    metadata.update_column('name', sdtype='categorical', table_name='t')
    synthesizer = _fit(data, metadata, 't', max_categories=20, **tiny)
    codecs = synthesizer._model.schema.codecs
    assert type(codecs['name']).__name__ == 'CharacterCodec'
    assert 'id' not in codecs and 'email' not in codecs
    table = synthesizer.sample(num_rows=400)['t']
    assert table['id'].is_unique and len(table) == 400
    assert table['amount'].between(data['amount'].min(), data['amount'].max()).all()
    assert table['count'].between(-5, 49).all()
    when = pd.to_datetime(table['when'], format='%Y-%m-%d %H:%M')
    assert when.between(pd.Timestamp('2021-01-01'), pd.to_datetime(data['when']).max()).all()
    assert set(table['name']) <= set(data['name'])
    assert set(table['level']) <= {1, 2, 3}
    assert table['flag'].isin([True, False]).all()
    # Native conditions on every sdtype: datetime and signed-number ranges, character-coded
    # categoricals, booleans, ordinals; PII and keys are still generated by SDV.
    conditioned = synthesizer.sample(50, conditions={
        'when': ('2021-02-01 00:00', '2021-02-10 12:00'), 'count': (-3, 2),
        'name': ['item-5', 'item-50'], 'flag': True, 'level': [3]})['t']
    when = pd.to_datetime(conditioned['when'], format='%Y-%m-%d %H:%M')
    assert when.between(pd.Timestamp('2021-02-01'), pd.Timestamp('2021-02-10 12:00')).all()
    assert conditioned['count'].between(-3, 2).all() and (conditioned['level'] == 3).all()
    assert set(conditioned['name']) <= {'item-5', 'item-50'} and conditioned['flag'].all()
    assert conditioned['id'].is_unique and conditioned['email'].notna().all()


def test_invalid_parameter_is_named(iris):
    _, metadata = iris
    with pytest.raises(SynthesizerInputError, match="'epochs'"):
        LLMSynthesizer(metadata, epochs=0)
    with pytest.raises(SynthesizerInputError, match="'top_p'"):
        LLMSynthesizer(metadata, top_p=0)
    with pytest.raises(SynthesizerInputError, match="'column_order'"):
        LLMSynthesizer(metadata, column_order='sideways')


def test_column_order_list_and_get_column_order(iris, tiny):
    data, metadata = iris
    order = list(reversed(data.columns))
    synthesizer = _fit(data, metadata, 'iris', column_order=order, **tiny)
    assert synthesizer.get_column_order()['order'] == order
    assert list(synthesizer.sample(num_rows=5)['iris'].columns) == list(data.columns)


def test_numbers_stored_as_text_come_back_as_text_in_their_format(tiny):
    rng = np.random.default_rng(0)
    charges = [f'{v:.2f}' for v in rng.gamma(2.0, 800.0, 1500)]
    charges[:5] = [' '] * 5
    data = pd.DataFrame({'charges': charges, 'plan': rng.choice(['a', 'b'], 1500)})
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('charges', sdtype='categorical', table_name='t')
    synthesizer = LLMSynthesizer(metadata, **tiny)
    synthesizer.fit({'t': data})
    assert type(synthesizer._model.schema.codecs['charges']).__name__ == 'NumericTextCodec'
    sampled = synthesizer.sample(500)['t']
    assert sampled['charges'].str.fullmatch(r'\d+\.\d\d| ').all()
