"""Privacy audits with known answers: copies of the training rows leak, fresh rows do not."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm.evaluation import privacy_report
from sdv_llm.evaluation.anonymity import linkability_risk, singling_out_risk
from sdv_llm.evaluation.audit import REPORT_COLUMNS
from sdv_llm.evaluation.copies import decimal_places, exact_copy_rate
from sdv_llm.evaluation.membership import membership_inference_auc
from sdv_llm.evaluation.privacy import dcr_baseline_protection


def draw(n, seed):
    """Rows of one population: positive numbers (anonymeter's relative tolerance divides by
    the guess), two categories that depend on them but are not determined by them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(20, 80, size=n)
    z = rng.gamma(2.0, size=n)
    return pd.DataFrame({
        'x': x, 'y': np.round(x * 1000 + rng.normal(scale=5000, size=n), 2), 'z': z,
        'c': np.where(rng.uniform(size=n) < (x - 20) / 60, 'a', rng.choice(['b', 'c'], n)),
        'label': np.where(rng.uniform(size=n) < 0.3 + 0.4 * (z > 2), 'yes', 'no')})


@pytest.fixture(scope='module')
def population():
    train, holdout, fresh = draw(300, 0), draw(300, 1), draw(300, 2)
    return train, holdout, fresh, Metadata.detect_from_dataframes({'t': train})


@pytest.fixture(scope='module')
def reports(population):
    train, holdout, fresh, metadata = population
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        copies = privacy_report(train, holdout, train.copy(), metadata, n_attacks=100,
                                per_column=True)
        new = privacy_report(train, holdout, fresh, metadata, n_attacks=100)
    leaked = [str(w.message) for w in caught if 'anonymeter' in w.filename
              or 'sdmetrics' in w.filename]
    return copies.set_index('audit'), new.set_index('audit'), leaked


def test_report_has_one_row_per_audit_with_intervals_and_sources(reports):
    copies, new, leaked = reports
    assert list(new.reset_index().columns) == list(REPORT_COLUMNS)
    assert list(new.index) == [
        'exact_copy_rate', 'holdout_copy_rate', 'dcr_share', 'dcr_overfitting_protection',
        'dcr_baseline_protection', 'mia_auc', 'singling_out_univariate_risk',
        'singling_out_multivariate_risk', 'linkability_risk', 'inference_risk_max',
        'inference_risk_mean']
    assert [f'inference_risk[{c}]' for c in 'xyz'] == list(copies.index[-5:-2])
    with_ci = new.dropna(subset=['ci_low'])
    assert set(with_ci.index) == {'mia_auc', 'singling_out_univariate_risk',
                                  'singling_out_multivariate_risk', 'linkability_risk',
                                  'inference_risk_max'}
    assert (with_ci['ci_low'] <= with_ci['value']).all()
    assert (with_ci['value'] <= with_ci['ci_high']).all()
    assert new.loc['linkability_risk', 'source'].startswith('anonymeter 1.1')
    assert new.loc['dcr_baseline_protection', 'source'].startswith('sdmetrics')
    assert 'attack' in new.loc['linkability_risk', 'detail']
    assert not leaked


def test_copies_of_the_training_rows_give_maximal_risk(reports):
    value = reports[0]['value']
    assert value['exact_copy_rate'] == 1.0 and value['holdout_copy_rate'] == 0.0
    assert value['dcr_share'] == 1.0 and value['dcr_baseline_protection'] == 0.0
    assert value['dcr_overfitting_protection'] < 0.1
    assert value['mia_auc'] > 0.9
    for audit in ('singling_out_univariate_risk', 'singling_out_multivariate_risk',
                  'linkability_risk', 'inference_risk_max', 'inference_risk_mean'):
        assert value[audit] > 0.9, audit


def test_fresh_rows_of_the_same_population_give_minimal_risk(reports):
    new = reports[1]
    value = new['value']
    assert value['exact_copy_rate'] == 0.0 == new.loc['exact_copy_rate', 'ideal']
    assert 0.35 < value['dcr_share'] < 0.65 and value['dcr_overfitting_protection'] > 0.7
    assert 0.05 < value['dcr_baseline_protection'] < 1.0
    assert abs(value['mia_auc'] - 0.5) < 0.12
    for audit in ('singling_out_univariate_risk', 'linkability_risk', 'inference_risk_mean'):
        assert value[audit] < 0.1, audit
    assert value['singling_out_multivariate_risk'] < 0.2
    assert value['inference_risk_max'] < 0.3


def test_exact_copy_rate_compares_a_canonical_form(population):
    train, holdout, fresh, metadata = population
    train = train.copy()
    train.loc[:9, 'z'] = np.nan
    train.loc[:4, 'c'] = None
    copied = train.copy()
    copied['x'] += 1e-12          # float noise
    copied['y'] = copied['y'].astype(str).astype(float)
    half = pd.concat([copied.iloc[:150], fresh.iloc[150:]], ignore_index=True)
    result = exact_copy_rate(train, half, holdout, metadata)
    assert result == {'exact_copy_rate': 0.5, 'holdout_copy_rate': 0.0}
    assert exact_copy_rate(train, train.iloc[:10], train.iloc[10:20], metadata) == {
        'exact_copy_rate': 1.0, 'holdout_copy_rate': 1.0}
    moved = copied.assign(y=copied['y'] + 0.01)     # y has two decimal places
    assert exact_copy_rate(train, moved, holdout, metadata)['exact_copy_rate'] == 0.0
    assert decimal_places(np.array([1.0, 2.5, np.nan])) == 1
    assert decimal_places(np.array([0.1 + 0.2, 3.0])) == 1
    assert decimal_places(np.array([12.0, -4.0])) == 0


def test_numeric_and_boolean_labels_compare_like_their_text():
    real = pd.DataFrame({'code': [1, 2, 3], 'flag': [True, False, True], 'n': [1.0, 2.0, 3.0]})
    metadata = Metadata.detect_from_dataframes({'t': real})
    metadata.update_column('code', sdtype='categorical', table_name='t')
    synthetic = pd.DataFrame({'code': ['1', '2.0', 'x'], 'flag': ['True', 'False', 'True'],
                              'n': [1, 2, 3]})
    assert exact_copy_rate(real, synthetic, real.iloc[:1], metadata)['exact_copy_rate'] == \
        pytest.approx(2 / 3)
    flipped = synthetic.assign(flag=[False, True, True])
    assert exact_copy_rate(real, flipped, real.iloc[:1], metadata)['exact_copy_rate'] == 0.0


def test_membership_auc_of_a_partial_copy_lies_between(population):
    train, holdout, fresh, metadata = population
    partial = pd.concat([train.iloc[:150], fresh.iloc[150:]], ignore_index=True)
    result = membership_inference_auc(train, partial, holdout, metadata, n_bootstrap=50)
    assert 0.6 < result['mia_auc'] < 0.9
    assert result['mia_auc_ci_low'] < result['mia_auc'] < result['mia_auc_ci_high']
    assert result['mia_targets'] == 150
    again = membership_inference_auc(train, partial, holdout, metadata, n_bootstrap=50)
    assert again == result


def test_dcr_baseline_protection_of_random_rows_is_about_one(population):
    train, _, _, metadata = population
    rng = np.random.default_rng(3)
    uniform = pd.DataFrame({c: rng.uniform(train[c].min(), train[c].max(), 300)
                            for c in ('x', 'y', 'z')})
    uniform['c'] = rng.choice(['a', 'b', 'c'], 300)
    uniform['label'] = rng.choice(['yes', 'no'], 300)
    result = dcr_baseline_protection(train, uniform, metadata)
    assert result['dcr_baseline_protection'] > 0.8
    assert result['dcr_median_random'] > 0


def test_anonymeter_warnings_are_collected_not_raised_and_numpy_state_is_kept(population,
                                                                              caplog):
    train, holdout, fresh, metadata = population
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        result = singling_out_risk(train, fresh, holdout, metadata, mode='multivariate',
                                   n_attacks=100, max_attempts=1000)
        linkability_risk(train, fresh, holdout, metadata, n_attacks=50)
    assert np.random.rand() == expected
    assert 'Reached maximum number of attempts 1000' in \
        result['singling_out_multivariate_risk_detail']
    assert not [r for r in caplog.records if r.name.startswith('anonymeter')]
    assert not [w for w in caught if 'anonymeter' in w.filename]


def test_bad_input_names_the_parameter_or_column(population):
    train, holdout, fresh, metadata = population
    with pytest.raises(ValueError, match="synthetic lacks the column.*'label'"):
        privacy_report(train, holdout, fresh.drop(columns='label'), metadata)
    with pytest.raises(ValueError, match='real_holdout is empty'):
        privacy_report(train, holdout.iloc[:0], fresh, metadata)
    with pytest.raises(ValueError, match='real_holdout has 3 rows; at least 4'):
        privacy_report(train, holdout.iloc[:3], fresh, metadata)
    with pytest.raises(TypeError, match='real_train must be a pandas.DataFrame'):
        privacy_report(train.to_numpy(), holdout, fresh, metadata)
    with pytest.raises(ValueError, match="Unknown audit.*'copy'"):
        privacy_report(train, holdout, fresh, metadata, audits=['copy'])
    with pytest.raises(ValueError, match="table_name 'other' is not in the metadata"):
        exact_copy_rate(train, fresh, holdout, metadata, table_name='other')
    with pytest.raises(ValueError, match="aux_cols names.*'nope'"):
        linkability_risk(train, fresh, holdout, metadata, aux_cols=(['x'], ['nope']))
    with pytest.raises(ValueError, match='reference_share'):
        membership_inference_auc(train, fresh, holdout, metadata, reference_share=1.0)


def test_a_holdout_larger_than_train_is_accepted(population):
    train, holdout, fresh, metadata = population
    report = privacy_report(train.iloc[:100], holdout, fresh, metadata,
                            audits=['copies', 'dcr', 'membership'])
    assert report['value'].notna().all()
    assert report.set_index('audit').loc['mia_auc', 'detail'] == '100 members, 100 non-members'
