"""Every field kind round-trips through an exported script run with numpy and pandas only."""

import numpy as np
import pandas as pd
import pytest
from sdv.evaluation import run_diagnostic

from sdv_llm.fastgen import runtime
from sdv_llm.fastgen.synthesizer import FastGenSynthesizer
from tests.fastgen.conftest import run_script


@pytest.fixture(scope='module')
def fitted(people):
    data, metadata = people
    synthesizer = FastGenSynthesizer(metadata)
    synthesizer.fit({'people': data})
    return synthesizer


def _check_valid(out, data):
    assert list(out.columns) == list(data.columns)
    assert out['key'].is_unique
    income = out['income'].dropna()
    assert income.between(data['income'].min(), data['income'].max()).all()
    assert np.allclose(income, income.round(2))
    assert 0.03 < out['income'].isna().mean() < 0.2
    assert set(out['children']) <= set(data['children'])
    assert set(out['city']) <= set(data['city'])
    assert set(out['member'].astype(str)) <= {'True', 'False'}
    assert set(out['size']) <= {'S', 'M', 'L'}
    joined = pd.to_datetime(out['joined'], format='%Y-%m-%d %H:%M')  # raises on a bad format
    assert joined.min() >= pd.Timestamp('2021-01-01')
    assert joined.max() <= pd.to_datetime(data['joined']).max()


def test_every_kind_runs_in_a_subprocess_with_numpy_and_pandas_only(fitted, people, tmp_path):
    data, _ = people
    script = fitted.export_script(tmp_path / 'make_people.py', command='test')
    text = script.read_text()
    assert 'import scipy' not in text and 'sdv' not in text.split('SPEC = ')[0].split('"""')[2]
    run_script(script, '-n', 2500, '--seed', 3, '-o', tmp_path / 'people.csv',
               '--chunk-rows', 1000)
    out = pd.read_csv(tmp_path / 'people.csv')
    assert len(out) == 2500
    _check_valid(out, data)
    rare = set(data['email']) | set(data['motto'].value_counts()[lambda c: c < 5].index)
    assert not rare & (set(out['email']) | set(out['motto']))
    assert 'same old' in set(out['motto'])  # a common value keeps its frequency


def test_seeded_scripts_are_reproducible_and_match_in_process_sampling(fitted, tmp_path):
    script = fitted.export_script(tmp_path / 's.py')
    for name, seed in (('a', 7), ('b', 7), ('c', 8)):
        run_script(script, '-n', 300, '--seed', seed, '-o', tmp_path / f'{name}.csv')
    first, second, other = (pd.read_csv(tmp_path / f'{n}.csv') for n in 'abc')
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(other)
    in_process = next(runtime.sample_table(fitted.script_spec(), 300, seed=7))
    in_process.to_csv(tmp_path / 'in_process.csv', index=False)
    pd.testing.assert_frame_equal(first, pd.read_csv(tmp_path / 'in_process.csv'))


def test_sdv_sampling_is_valid_under_the_diagnostic(fitted, people):
    data, metadata = people
    synthetic = fitted.sample(1000)['people']
    assert len(synthetic) == 1000
    report = run_diagnostic({'people': data}, {'people': synthetic}, metadata, verbose=False)
    assert report.get_score() == 1.0


def test_chunked_writing_matches_one_chunk(fitted, tmp_path):
    spec = fitted.script_spec()
    runtime.write_table(spec, 500, tmp_path / 'one.csv', seed=1, chunk_rows=500)
    runtime.write_table(spec, 500, tmp_path / 'many.csv', seed=1, chunk_rows=120)
    one, many = pd.read_csv(tmp_path / 'one.csv'), pd.read_csv(tmp_path / 'many.csv')
    assert len(many) == 500 and many['key'].is_unique
    pd.testing.assert_series_equal(one['key'], many['key'])


def test_distributions_are_recorded(fitted):
    table = fitted.get_distributions()
    kinds = dict(zip(table['column'], table['kind']))
    assert kinds['income'] == 'quantile' and kinds['city'] == 'discrete'
    assert kinds['motto'] == 'text'
    assert set(table['source']) == {'data'}
