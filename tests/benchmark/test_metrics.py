"""Benchmark metrics on tiny inputs with known answers."""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm.benchmark import efficacy, metrics, privacy


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    data = pd.DataFrame({
        'x': x, 'y': 2 * x + rng.normal(scale=0.3, size=600),
        'z': rng.uniform(size=600),
        'c': np.where(x > 0, 'high', 'low'),
        'label': np.where(x + rng.normal(scale=0.5, size=600) > 0, 'yes', 'no'),
    })
    metadata = Metadata.detect_from_dataframes({'t': data})
    columns = metadata.tables['t'].columns
    assert columns['c']['sdtype'] == columns['label']['sdtype'] == 'categorical'
    return data, metadata


def _permuted(data, seed=1):
    """Every column permuted independently: same marginals, no dependence."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(data[c].to_numpy()) for c in data})


def test_identical_tables_have_zero_kl_and_frobenius(table):
    data, metadata = table
    assert metrics.mean_kl_divergence(data, data.copy(), metadata) == 0.0
    assert metrics.correlation_frobenius(data, data.copy(), metadata) == 0.0
    assert metrics.association_frobenius(data, data.copy(), metadata) == 0.0


def test_kl_of_a_shifted_column_is_positive_and_finite():
    real = pd.Series(np.arange(1000.0))
    assert 0 < metrics.kl_divergence(real, real + 500, 'numerical') < np.inf
    assert metrics.kl_divergence(pd.Series(['a', 'b'] * 50), pd.Series(['a'] * 100)) > 0.1


def test_permuted_columns_keep_marginals_but_lose_correlations(table):
    data, metadata = table
    permuted = _permuted(data)
    assert metrics.mean_kl_divergence(data, permuted, metadata) == pytest.approx(0.0, abs=1e-9)
    assert metrics.correlation_frobenius(data, permuted, metadata) > 1.0
    assert metrics.association_frobenius(data, permuted, metadata) > 1.0
    same = metrics.quality_scores(data, data, metadata)
    shuffled = metrics.quality_scores(data, permuted, metadata)
    assert shuffled['column_shapes'] == pytest.approx(1.0)
    assert shuffled['column_pair_trends_all_pairs'] < same['column_pair_trends_all_pairs'] - 0.1


def test_tstr_equals_trtr_when_synthetic_is_train(table):
    data, metadata = table
    train, holdout = data.iloc[:450], data.iloc[450:]
    scores = efficacy.ml_efficacy(train, train.copy(), holdout, 'label', 'binary', metadata)
    assert scores['ml_metric'] == 'roc_auc'
    assert scores['tstr'] == scores['trtr'] > 0.7
    noise = efficacy.ml_efficacy(train, _permuted(train), holdout, 'label', 'binary', metadata)
    assert noise['tstr'] < scores['tstr'] - 0.15


def test_efficacy_tasks_and_a_single_class_synthetic_table(table):
    data, metadata = table
    train, holdout = data.iloc[:450], data.iloc[450:]
    sdtypes = metrics.modelled_columns(metadata)
    assert efficacy.efficacy_score(train, holdout, 'y', 'regression', sdtypes) > 0.8
    constant = train.assign(label='yes')
    assert efficacy.efficacy_score(constant, holdout, 'label', 'binary', sdtypes) == 0.5
    with pytest.raises(ValueError, match='task'):
        efficacy.efficacy_score(train, holdout, 'label', 'ranking', sdtypes)


def test_dcr_share_of_copies_is_one_and_of_new_rows_about_half(table):
    data, metadata = table
    train, holdout = data.iloc[:300], data.iloc[300:]
    assert privacy.dcr_share(train, train.copy(), holdout, metadata) == 1.0
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    fresh = pd.DataFrame({'x': x, 'y': 2 * x + rng.normal(scale=0.3, size=300),
                          'z': rng.uniform(size=300), 'c': np.where(x > 0, 'high', 'low'),
                          'label': np.where(x > 0, 'yes', 'no')})
    assert 0.35 < privacy.dcr_share(train, fresh, holdout, metadata) < 0.65
    protection = privacy.dcr_overfitting_protection(train, train.copy(), holdout, metadata)
    assert protection['dcr_closer_to_training'] > 0.9
    assert protection['dcr_overfitting_protection'] < 0.2


def test_detection_is_one_for_identical_tables(table):
    data, metadata = table
    assert metrics.detection_score(data, data.copy(), metadata) == pytest.approx(1.0, abs=0.05)


def test_invalid_rows_counts_unknown_categories_and_out_of_range_numbers(table):
    data, metadata = table
    bad = data.copy()
    bad.loc[0, 'c'] = 'unknown'
    bad.loc[1, 'x'] = 1e6
    assert metrics.invalid_rows(data, metadata) == 0
    assert metrics.invalid_rows(bad, metadata) == 2
