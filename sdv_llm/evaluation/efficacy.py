"""ML efficacy: train on synthetic, test on the real holdout (TSTR), beside train on real (TRTR).

The model is scikit-learn's ``HistGradientBoostingClassifier`` or ``...Regressor`` with
default settings and a fixed ``random_state``; the score is ROC AUC for a binary target (the
positive class is the holdout's minority class), macro F1 for a multiclass target
and R2 for regression. The model trains on one OpenMP thread: on a small shared CPU,
OpenMP's busy waiting beside other jobs made multi-threaded fits up to 100 times slower.
"""

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import f1_score, r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from sdv_llm.evaluation.columns import as_numbers, modelled_columns

#: Score name by task.
SCORES = {'binary': 'roc_auc', 'multiclass': 'macro_f1', 'regression': 'r2'}
_MAX_CATEGORIES = 250   # HistGradientBoosting's native categorical support: < max_bins (255)


def _features(tables, sdtypes):
    """Encode the feature columns of several tables on shared category codes."""
    encoded = [pd.DataFrame(index=t.index) for t in tables]
    categorical = []
    for column, sdtype in sdtypes.items():
        if sdtype in ('numerical', 'datetime'):
            for frame, table in zip(encoded, tables):
                frame[column] = as_numbers(table[column], sdtype)
            categorical.append(False)
            continue
        labels = [t[column].astype(object).where(t[column].notna()).astype('string')
                  for t in tables]
        categories = pd.Index(sorted(set().union(*(set(v.dropna()) for v in labels))))
        for frame, values in zip(encoded, labels):
            codes = pd.Categorical(values, categories=categories).codes.astype(float)
            codes[codes < 0] = np.nan
            frame[column] = codes
        categorical.append(len(categories) <= _MAX_CATEGORIES)
    return encoded, np.array(categorical, dtype=bool)


def _target(values, task):
    if task == 'regression':
        return pd.to_numeric(values, errors='coerce')
    return values.astype(object).where(values.notna()).astype('string')


def efficacy_score(fit_data, test_data, target, task, sdtypes, seed=0):
    """Fit a gradient-boosting model on ``fit_data`` and score it on ``test_data``.

    Rows with a missing target are dropped from both. A classifier whose training target has a
    single class predicts that class (``DummyClassifier``): AUC 0.5.

    Args:
        fit_data (pandas.DataFrame): rows to learn from (synthetic or real train).
        test_data (pandas.DataFrame): rows to score on (the real holdout).
        target (str): the column to predict.
        task (str): ``'binary'``, ``'multiclass'`` or ``'regression'``.
        sdtypes (dict[str, str]): sdtype of every modelled column (features and target).
        seed (int): the model's ``random_state``.

    Returns:
        float: ROC AUC (binary), macro F1 (multiclass) or R2 (regression) on ``test_data``.

    Raises:
        ValueError: on an unknown ``task``.
    """
    if task not in SCORES:
        raise ValueError(f'task must be one of {sorted(SCORES)}, got {task!r}.')
    with threadpool_limits(limits=1, user_api='openmp'):
        return _score(fit_data, test_data, target, task, sdtypes, seed)


def _score(fit_data, test_data, target, task, sdtypes, seed):
    y_fit, y_test = _target(fit_data[target], task), _target(test_data[target], task)
    fit_data, y_fit = fit_data[y_fit.notna().to_numpy()], y_fit.dropna()
    test_data, y_test = test_data[y_test.notna().to_numpy()], y_test.dropna()
    features = {c: s for c, s in sdtypes.items() if c != target}
    (x_fit, x_test), categorical = _features([fit_data, test_data], features)
    if task == 'regression':
        model = HistGradientBoostingRegressor(categorical_features=categorical,
                                              random_state=seed)
        model.fit(x_fit, y_fit.to_numpy(dtype=float))
        return float(r2_score(y_test.to_numpy(dtype=float), model.predict(x_test)))
    y_fit, y_test = y_fit.to_numpy(dtype=object), y_test.to_numpy(dtype=object)
    if len(set(y_fit)) < 2:
        model = DummyClassifier(strategy='most_frequent')
    else:
        model = HistGradientBoostingClassifier(categorical_features=categorical,
                                               random_state=seed)
    model.fit(x_fit, y_fit)
    if task == 'multiclass':
        return float(f1_score(y_test, model.predict(x_test), average='macro'))
    real_counts = pd.Series(y_test).value_counts()
    positive = real_counts.index[-1]
    classes = list(model.classes_)
    probability = (model.predict_proba(x_test)[:, classes.index(positive)]
                   if positive in classes else np.zeros(len(y_test)))
    if len(set(y_test)) < 2:
        return float('nan')
    return float(roc_auc_score(y_test == positive, probability))


def ml_efficacy(train, synthetic, holdout, target, task, metadata, table_name=None, seed=0):
    """TSTR and TRTR scores of one synthetic table.

    Args:
        train (pandas.DataFrame): the real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): the synthetic rows.
        holdout (pandas.DataFrame): real rows no synthesizer saw.
        target (str): the column to predict.
        task (str): ``'binary'``, ``'multiclass'`` or ``'regression'``.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        seed (int): the model's ``random_state``.

    Returns:
        dict: ``ml_metric`` (score name), ``tstr`` and ``trtr`` (scores on ``holdout``) and
        ``tstr_trtr_ratio`` (``tstr / trtr``).
    """
    sdtypes = modelled_columns(metadata, table_name)
    tstr = efficacy_score(synthetic, holdout, target, task, sdtypes, seed)
    trtr = efficacy_score(train, holdout, target, task, sdtypes, seed)
    return {'ml_metric': SCORES[task], 'tstr': tstr, 'trtr': trtr,
            'tstr_trtr_ratio': tstr / trtr if trtr else float('nan')}
