"""The privacy report: every privacy audit of a synthetic table in one data frame."""

import contextlib
import warnings
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from sdv_llm.evaluation import anonymity, copies, membership, privacy
from sdv_llm.evaluation.columns import checked_columns

#: The audits :func:`privacy_report` runs, in its order.
AUDITS = ('copies', 'dcr', 'membership', 'singling_out', 'linkability', 'inference')

#: Columns of the report.
REPORT_COLUMNS = ('audit', 'value', 'ci_low', 'ci_high', 'ideal', 'interpretation', 'source',
                  'detail')

_ANONYMETER_RISK = ('excess success of the attack on training rows over the same attack on '
                    'holdout rows, (attack - control) / (1 - control); 0 = the synthetic rows '
                    'help no more against training rows than against anyone')


def _version(package):
    try:
        return f'{package} {version(package)}'
    except PackageNotFoundError:
        return package


def _row(audit, value, ideal, interpretation, source, ci=(np.nan, np.nan), detail=''):
    return {'audit': audit, 'value': float(value), 'ci_low': float(ci[0]),
            'ci_high': float(ci[1]), 'ideal': float(ideal), 'interpretation': interpretation,
            'source': source, 'detail': detail}


@contextlib.contextmanager
def _noting(rows):
    """Collect the warnings raised inside the block into the ``detail`` of the rows it adds."""
    start = len(rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        yield
    notes = ' | '.join(dict.fromkeys(str(w.message).strip()[:200] for w in caught))
    for row in rows[start:] if notes else ():
        row['detail'] = f"{row['detail']}; {notes}" if row['detail'] else notes


def _risk_row(result, name, interpretation):
    return _row(name, result[name], 0.0, interpretation, _version('anonymeter'),
                (result[f'{name}_ci_low'], result[f'{name}_ci_high']),
                result[f'{name}_detail'])


def privacy_report(real_train, real_holdout, synthetic, metadata, table_name=None,
                   audits=None, n_attacks=anonymity.N_ATTACKS, max_rows=1000,
                   per_column=False, confidence_level=0.95, n_jobs=-2, seed=0):
    """Every privacy audit of a synthetic table, one row each.

    The audits (``audits`` picks among them; all by default):

    - ``copies``: ``exact_copy_rate``, the share of synthetic rows equal to a training row,
      with the holdout's own rate as its ideal (``holdout_copy_rate``, also a row;
      :func:`sdv_llm.evaluation.copies.exact_copy_rate`).
    - ``dcr``: ``dcr_share`` (:func:`sdv_llm.evaluation.privacy.dcr_share`), SDMetrics'
      ``dcr_overfitting_protection`` and ``dcr_baseline_protection``.
    - ``membership``: ``mia_auc``, a DOMIAS-style density-ratio membership-inference attack
      with a bootstrap interval (:mod:`sdv_llm.evaluation.membership`).
    - ``singling_out``, ``linkability``, ``inference``: anonymeter's risks with the holdout as
      control (:mod:`sdv_llm.evaluation.anonymity`): ``singling_out_univariate_risk``,
      ``singling_out_multivariate_risk``, ``linkability_risk``, ``inference_risk_max`` (the
      largest over the secret columns, ``detail`` names it) and ``inference_risk_mean``; with
      ``per_column``, also ``inference_risk[COLUMN]`` for each column.

    Only the modelled columns of the metadata are compared (keys and PII are generated). On a
    5,000-row Adult table the whole report takes about half a minute on one CPU core, most of
    it anonymeter's attribute inference (one attack per column) and SDMetrics' distances.

    Args:
        real_train (pandas.DataFrame): real rows the synthesizer fitted on.
        real_holdout (pandas.DataFrame): real rows of the same population it did not see; at
            least 4 (the membership attack splits them into reference and targets).
        synthetic (pandas.DataFrame): synthetic rows.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``; the only one when ``None``.
        audits (iterable[str] or None): names from :data:`AUDITS`; all when ``None``.
        n_attacks (int): anonymeter's attacks of each kind (targets per secret column).
        max_rows (int): most rows compared by the distance audits, most targets of each class
            of the membership attack.
        per_column (bool): add a row per secret column of the inference audit.
        confidence_level (float): of the intervals, in (0, 1).
        n_jobs (int): threads of anonymeter's neighbour search (joblib convention).
        seed (int): seed of every subsample and attack.

    Returns:
        pandas.DataFrame: one row per audit, columns ``audit`` (str), ``value``, ``ci_low``,
        ``ci_high`` (floats; ``nan`` where the audit has no interval), ``ideal`` (float: the
        value of a synthesizer that leaks nothing; for ``exact_copy_rate`` the holdout's rate;
        ``nan`` for the reference row ``holdout_copy_rate``), ``interpretation``, ``source``
        (the library and version, or ``sdv_llm``) and ``detail`` (str: rates, warnings).

    Raises:
        TypeError: a table that is not a data frame (named).
        ValueError: an unknown audit; a table lacking a modelled column, an empty table or a
            holdout of fewer than 4 rows (named); see
            :func:`sdv_llm.evaluation.columns.checked_columns`.
        ImportError: when anonymeter is missing and an anonymeter audit is asked for.
    """
    audits = AUDITS if audits is None else tuple(audits)
    unknown = [a for a in audits if a not in AUDITS]
    if unknown:
        raise ValueError(f'Unknown audit(s) {", ".join(map(repr, unknown))}; known: '
                         f'{", ".join(AUDITS)}.')
    sdtypes = checked_columns(metadata, table_name, min_rows={'real_holdout': 4},
                              real_train=real_train, real_holdout=real_holdout,
                              synthetic=synthetic)
    if any(a in audits for a in ('singling_out', 'linkability', 'inference')):
        anonymity._anonymeter()   # fail before the slow audits run
    train, holdout = real_train, real_holdout
    common = {'metadata': metadata, 'table_name': table_name}
    rows = []
    if 'copies' in audits:
        result = copies.exact_copy_rate(train, synthetic, holdout, **common)
        rows.append(_row(
            'exact_copy_rate', result['exact_copy_rate'], result['holdout_copy_rate'],
            'share of synthetic rows equal to a training row (modelled columns); at most the '
            "holdout's own rate (the ideal)", 'sdv_llm'))
        rows.append(_row(
            'holdout_copy_rate', result['holdout_copy_rate'], np.nan,
            'share of holdout rows equal to a training row: the rate of rows that copy nobody',
            'sdv_llm'))
    if 'dcr' in audits:
        with _noting(rows):
            rows.append(_row(
                'dcr_share', privacy.dcr_share(train, synthetic, holdout, max_rows=max_rows,
                                               seed=seed, **common), 0.5,
                'share of synthetic rows closer to a training row than to a holdout row (as '
                'many of each); 1 = copies', 'sdv_llm'))
        with _noting(rows):
            result = privacy.dcr_overfitting_protection(train, synthetic, holdout,
                                                        max_rows=max_rows, seed=seed, **common)
            rows.append(_row(
                'dcr_overfitting_protection', result['dcr_overfitting_protection'], 1.0,
                'SDMetrics: 1 - excess share of synthetic rows closer to training than to '
                'holdout rows; 0 = copies', f"{_version('sdmetrics')} DCROverfittingProtection",
                detail=f"closer to training {result['dcr_closer_to_training']:.3f}"))
        with _noting(rows):
            result = privacy.dcr_baseline_protection(train, synthetic, max_rows=max_rows,
                                                     seed=seed, **common)
            rows.append(_row(
                'dcr_baseline_protection', result['dcr_baseline_protection'], 1.0,
                'SDMetrics: median distance of synthetic rows to the training rows over that of '
                'random rows; 0 = copies', f"{_version('sdmetrics')} DCRBaselineProtection",
                detail=f"median DCR synthetic {result['dcr_median_synthetic']:.4f}, random "
                       f"{result['dcr_median_random']:.4f}"))
    if 'membership' in audits:
        with _noting(rows):
            result = membership.membership_inference_auc(
                train, synthetic, holdout, max_rows=max_rows, confidence_level=confidence_level,
                seed=seed, **common)
            rows.append(_row(
                'mia_auc', result['mia_auc'], 0.5,
                'AUC of a density-ratio membership attack telling training rows from holdout '
                'rows; 1 = always tells', 'sdv_llm (DOMIAS-style, arXiv:2302.12580)',
                (result['mia_auc_ci_low'], result['mia_auc_ci_high']),
                f"{result['mia_targets']} members, {result['mia_targets']} non-members"))
    attack = {'n_attacks': n_attacks, 'confidence_level': confidence_level, 'seed': seed,
              **common}
    if 'singling_out' in audits:
        for mode in ('univariate', 'multivariate'):
            result = anonymity.singling_out_risk(train, synthetic, holdout, mode=mode, **attack)
            rows.append(_risk_row(result, f'singling_out_{mode}_risk',
                                  f'anonymeter singling out ({mode} predicates): '
                                  f'{_ANONYMETER_RISK}'))
    too_few = len(sdtypes) < 2
    if 'linkability' in audits:
        if too_few:
            rows.append(_row('linkability_risk', np.nan, 0.0, 'anonymeter linkability',
                             _version('anonymeter'), detail='needs two or more columns'))
        else:
            result = anonymity.linkability_risk(train, synthetic, holdout, n_jobs=n_jobs,
                                                **attack)
            rows.append(_risk_row(result, 'linkability_risk',
                                  'anonymeter linkability (the two halves of a row joined '
                                  f'through the synthetic rows): {_ANONYMETER_RISK}'))
    if 'inference' in audits:
        interpretation = ('anonymeter attribute inference (a column guessed from the others '
                          f'with the nearest synthetic row), {{}}: {_ANONYMETER_RISK}')
        if too_few:
            rows.append(_row('inference_risk_max', np.nan, 0.0, interpretation.format('largest'),
                             _version('anonymeter'), detail='needs two or more columns'))
        else:
            risks = anonymity.inference_risks(train, synthetic, holdout, n_jobs=n_jobs,
                                              **attack)
            summary = anonymity.summarize_inference(risks)
            rows.append(_row('inference_risk_max', summary['inference_risk_max'], 0.0,
                             interpretation.format('largest over the columns'),
                             _version('anonymeter'),
                             (summary['inference_risk_max_ci_low'],
                              summary['inference_risk_max_ci_high']),
                             summary['inference_risk_detail']))
            rows.append(_row('inference_risk_mean', summary['inference_risk_mean'], 0.0,
                             interpretation.format('mean over the columns'),
                             _version('anonymeter')))
            if per_column:
                rows.extend(_row(f'inference_risk[{r.secret}]', r.risk, 0.0,
                                 interpretation.format(f'secret {r.secret}'),
                                 _version('anonymeter'), (r.ci_low, r.ci_high),
                                 f'attack {r.attack_rate:.3f}, control {r.control_rate:.3f}, '
                                 f'baseline {r.baseline_rate:.3f}'
                                 + (f'; {r.notes}' if r.notes else ''))
                            for r in risks.itertuples())
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
