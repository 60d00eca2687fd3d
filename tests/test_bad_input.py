"""Bad input gets SDV-style errors naming the column, or is handled."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import InvalidDataError, InvalidDataTypeError
from sdv.metadata import Metadata

from sdv_llm import LLMSynthesizer


def _synth(data, tiny, **extra):
    metadata = Metadata.detect_from_dataframes({'t': data})
    return LLMSynthesizer(metadata, **{**tiny, **extra}), metadata


def test_empty_table(tiny):
    data = pd.DataFrame({'a': [1.0, 2.0], 'b': ['x', 'y']})
    synthesizer, _ = _synth(data, tiny)
    with pytest.raises(InvalidDataError, match='no rows'):
        synthesizer.fit({'t': data.iloc[:0]})


def test_one_row(tiny):
    data = pd.DataFrame({'a': [3.5], 'b': ['x']})
    synthesizer, _ = _synth(data, tiny)
    synthesizer.fit({'t': data})
    table = synthesizer.sample(num_rows=10)['t']
    assert len(table) == 10 and (table['b'] == 'x').all() and (table['a'] == 3.5).all()


def test_entirely_null_and_constant_columns(tiny):
    data = pd.DataFrame({'empty': [np.nan] * 30, 'const': [7] * 30, 'c': ['k'] * 30,
                         'x': np.arange(30)})
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('empty', sdtype='numerical', table_name='t')
    synthesizer = LLMSynthesizer(metadata, **tiny)
    synthesizer.fit({'t': data})
    table = synthesizer.sample(num_rows=20)['t']
    assert table['empty'].isna().all() and (table['const'] == 7).all() and (table['c'] == 'k').all()


def test_metadata_data_mismatch(tiny):
    data = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})
    synthesizer, _ = _synth(data, tiny)
    with pytest.raises(InvalidDataError, match=r"metadata columns \['b'\] are not present"):
        synthesizer.fit({'t': data.drop(columns='b')})


def test_values_out_of_metadata_ranges(tiny):
    data = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})
    synthesizer, _ = _synth(data, tiny)
    bad = data.assign(a=[1, 2, 300])
    with pytest.raises(InvalidDataError, match="'a'"):
        synthesizer.fit({'t': bad})
    with pytest.raises(InvalidDataError, match="'b'"):
        synthesizer.fit({'t': data.assign(b=['x', 'y', 'unseen'])})


def test_non_string_categorical_values(tiny):
    data = pd.DataFrame({'mixed': [1, 'one', 2.5, True, None, 1] * 10, 'n': range(60)})
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('mixed', sdtype='categorical', table_name='t')
    synthesizer = LLMSynthesizer(metadata, **tiny)
    synthesizer.fit({'t': data})
    table = synthesizer.sample(num_rows=100)['t']
    allowed = {'1', 'one', '2.5', 'True'}
    assert set(table['mixed'].dropna().astype(str)) <= allowed


def test_unicode_and_long_strings(tiny):
    long_value = 'ü' * 5000
    data = pd.DataFrame({'text': ['日本語', 'émoji 🎉', long_value, 'a,b;"c"\n'] * 10,
                         'n': range(40)})
    synthesizer, _ = _synth(data, tiny)
    synthesizer.fit({'t': data})
    table = synthesizer.sample(num_rows=50)['t']
    assert set(table['text']) <= set(data['text'])


def test_too_long_string_for_character_codec_is_named(tiny):
    data = pd.DataFrame({'text': [f'{i}' + 'x' * 300 for i in range(30)], 'n': range(30)})
    metadata = Metadata.detect_from_dataframes({'t': data})
    if metadata.tables['t'].primary_key:
        metadata.remove_primary_key(table_name='t')
    metadata.update_column('text', sdtype='categorical', table_name='t')
    synthesizer = LLMSynthesizer(metadata, max_categories=5, **tiny)
    with pytest.raises(InvalidDataError, match="Column 'text'.*max_text_length"):
        synthesizer.fit({'t': data})


def test_fit_with_a_dataframe_instead_of_a_dict(tiny):
    data = pd.DataFrame({'a': [1, 2, 3]})
    synthesizer, _ = _synth(data, tiny)
    with pytest.raises(InvalidDataTypeError, match='must be a dictionary'):
        synthesizer.fit(data)


@pytest.fixture(scope='module')
def fitted_iris():
    from tests.conftest import TINY

    data = pd.read_csv('tests/data/iris.csv')
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), **TINY)
    synthesizer.fit({'t': data})
    return synthesizer, data


@pytest.mark.parametrize('arguments, name', [
    ({'num_rows': -1}, 'num_rows'), ({'num_rows': 2.5}, 'num_rows'),
    ({'num_rows': '5'}, 'num_rows'), ({'num_rows': 10, 'batch_size': -5}, 'batch_size'),
    ({'num_rows': 10, 'batch_size': 0}, 'batch_size'),
    ({'num_rows': 10, 'max_tries_per_batch': 0}, 'max_tries_per_batch'),
    ({'num_rows': 2.5, 'conditions': {'species': 'setosa'}}, 'num_rows'),
])
def test_sampling_arguments_that_change_the_row_count_are_named(fitted_iris, arguments, name):
    from sdv.errors import SynthesizerInputError

    synthesizer, data = fitted_iris
    arguments = {k: ({data.columns[-1]: data.iloc[0, -1]} if k == 'conditions' else v)
                 for k, v in arguments.items()}
    with pytest.raises(SynthesizerInputError, match=name):
        synthesizer.sample(**arguments)


def test_zero_rows_is_an_empty_table(fitted_iris):
    synthesizer, _ = fitted_iris
    assert len(synthesizer.sample(0)['t']) == 0


def test_non_key_ids_and_pii_marked_false_are_modelled(tiny):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({'key': range(120), 'other_id': rng.integers(0, 20, 120).astype(str),
                         'email': [f'user{i % 15}@mail.org' for i in range(120)],
                         'value': rng.normal(size=120)})
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('other_id', 't', sdtype='id')
    metadata.update_column('email', 't', sdtype='email', pii=False)
    metadata.set_primary_key('key', 't')
    synthesizer = LLMSynthesizer(metadata, **tiny)
    synthesizer.fit({'t': data})
    table = synthesizer.sample(50)['t']
    assert set(table['other_id']) <= set(data['other_id'])
    assert set(table['email']) <= set(data['email'])  # learned, not faked


def test_a_user_transformer_on_a_category_round_trips(tiny):
    from rdt.transformers import LabelEncoder

    data = pd.read_csv('tests/data/titanic.csv')
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), **tiny)
    synthesizer.auto_assign_transformers({'t': data})
    synthesizer.update_transformers({'sex': LabelEncoder()})
    synthesizer.fit({'t': data})
    table = synthesizer.sample(100)['t']
    assert len(table) == 100 and set(table['sex']) <= {'male', 'female'}
