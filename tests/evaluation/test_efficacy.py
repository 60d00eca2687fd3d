"""ML efficacy (TSTR beside TRTR) on tables with known answers."""

import pytest

from sdv_llm.evaluation.columns import modelled_columns
from sdv_llm.evaluation.efficacy import efficacy_score, ml_efficacy
from tests.evaluation.conftest import independently_permuted


def test_tstr_equals_trtr_when_synthetic_is_train(table):
    data, metadata = table
    train, holdout = data.iloc[:450], data.iloc[450:]
    scores = ml_efficacy(train, train.copy(), holdout, 'label', 'binary', metadata)
    assert scores['ml_metric'] == 'roc_auc'
    assert scores['tstr'] == scores['trtr'] > 0.7
    noise = ml_efficacy(train, independently_permuted(train), holdout, 'label', 'binary', metadata)
    assert noise['tstr'] < scores['tstr'] - 0.15


def test_efficacy_tasks_and_a_single_class_synthetic_table(table):
    data, metadata = table
    train, holdout = data.iloc[:450], data.iloc[450:]
    sdtypes = modelled_columns(metadata)
    assert efficacy_score(train, holdout, 'y', 'regression', sdtypes) > 0.8
    constant = train.assign(label='yes')
    assert efficacy_score(constant, holdout, 'label', 'binary', sdtypes) == 0.5
    with pytest.raises(ValueError, match='task'):
        efficacy_score(train, holdout, 'label', 'ranking', sdtypes)
