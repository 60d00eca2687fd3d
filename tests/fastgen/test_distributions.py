"""Per-field distributions, the copula, lookups and the numpy normal CDF."""

import numpy as np
import pandas as pd
import pytest
from scipy import special
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm.fastgen.families import EMPIRICAL, choose_family, quantile_knots
from sdv_llm.fastgen.model import FastGenModel
from sdv_llm.fastgen.runtime import normal_cdf
from sdv_llm.fastgen.synthesizer import FastGenSynthesizer


def test_normal_cdf_matches_scipy():
    z = np.linspace(-8, 8, 10001)
    assert np.max(np.abs(normal_cdf(z) - special.ndtr(z))) < 2e-7


def test_family_by_bic_and_empirical_for_point_masses():
    rng = np.random.default_rng(0)
    assert choose_family(rng.normal(3, 2, 4000), rng=rng).family == 'normal'
    gains = np.where(rng.random(4000) < 0.9, 0.0, rng.lognormal(8, 1, 4000))
    assert choose_family(gains, rng=rng).family == EMPIRICAL
    _, x = quantile_knots(gains, choose_family(gains, rng=rng))
    assert x[0] == 0.0 and x[-1] == gains.max() and np.all(np.diff(x) >= 0)


def _correlated(num_rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=num_rows)
    return pd.DataFrame({'a': np.round(a * 10 + 50, 3),
                         'b': np.round(np.exp(a + 0.3 * rng.normal(size=num_rows)), 3),
                         'g': np.where(a + 0.5 * rng.normal(size=num_rows) > 0, 'hi', 'lo')})


COLUMNS = {'a': {'sdtype': 'numerical'}, 'b': {'sdtype': 'numerical'},
           'g': {'sdtype': 'categorical'}}


def test_copula_keeps_dependencies_and_none_drops_them():
    data = _correlated()
    real = data['a'].corr(data['b'], method='spearman')
    copula = FastGenModel('copula').fit(data, COLUMNS)
    copula.set_random_state(0)
    out = copula.sample(3000)
    assert abs(out['a'].corr(out['b'], method='spearman') - real) < 0.05
    assert out.groupby('g')['a'].mean()['hi'] > out.groupby('g')['a'].mean()['lo'] + 5
    independent = FastGenModel('none').fit(data, COLUMNS)
    independent.set_random_state(0)
    out = independent.sample(3000)
    assert abs(out['a'].corr(out['b'], method='spearman')) < 0.06


def test_exact_functional_dependencies_become_lookups():
    rng = np.random.default_rng(1)
    level = rng.choice(['low', 'mid', 'high'], 2000)
    data = pd.DataFrame({'level': level,
                         'code': pd.Series(level).map({'low': 1, 'mid': 2, 'high': 3}),
                         'x': rng.normal(size=2000)})
    columns = {'level': {'sdtype': 'categorical'}, 'code': {'sdtype': 'numerical'},
               'x': {'sdtype': 'numerical'}}
    model = FastGenModel().fit(data, columns)
    assert model.spec['fields']['code']['kind'] == 'lookup'
    out = model.sample(1000)
    assert (out['code'] == out['level'].map({'low': 1, 'mid': 2, 'high': 3})).all()


@pytest.mark.parametrize('name, value', [('dependencies', 'tree'), ('markov_order', 0),
                                         ('text_min_count', 1.5), ('lookups', 'yes'),
                                         ('backbone', 3)])
def test_bad_parameters_are_named(name, value):
    metadata = Metadata.load_from_dict({'tables': {'t': {'columns': COLUMNS}}})
    with pytest.raises(SynthesizerInputError, match=name):
        FastGenSynthesizer(metadata, **{name: value})
