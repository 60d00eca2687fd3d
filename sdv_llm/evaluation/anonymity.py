"""Anonymity risks (anonymeter): singling out, linkability and attribute inference.

anonymeter (Giomi et al., "A Unified Framework for Quantifying Privacy Risk in Synthetic
Data", PoPETs 2023; https://github.com/statice/anonymeter) runs the three attacks of the
Article 29 Working Party's anonymisation criteria against the training rows, using the
synthetic rows, and the same attacks against a control set of real rows the synthesizer did
not see (here the holdout). The risk is the excess success on the training rows,
``(attack - control) / (1 - control)``, in [0, 1] with a confidence interval (Wilson score
intervals propagated); 0 means the synthetic rows help the attacker no more against the
training rows than against anyone from the same population.

anonymeter 1.1.0 is an optional dependency (``pip install --no-deps anonymeter==1.1.0`` after
the ``privacy`` extra; its numpy pin predates numpy 2). Its warnings (an attack no better than
random guessing, a control attack always right) are collected and returned as text, not
raised.
"""

import contextlib
import logging
import warnings

import pandas as pd

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    as_numbers,
    checked_columns,
    numpy_global_seed,
)

#: Attacks of each kind (anonymeter's default); fewer when a table has fewer rows.
N_ATTACKS = 500


def _anonymeter():
    try:
        from anonymeter import evaluators
    except ImportError as error:
        raise ImportError(
            'The anonymeter audits need anonymeter 1.1.0: pip install "sdv_llm[privacy]" && '
            'pip install --no-deps anonymeter==1.1.0') from error
    return evaluators


def anonymeter_frames(metadata, table_name=None, **tables):
    """The modelled columns of each table with the same dtypes, as anonymeter needs them.

    Numbers (datetimes as nanoseconds) become ``float64`` with ``nan`` where missing; every
    other modelled column becomes text (``object``), missing values as ``'<NA>'``. The index
    is reset.

    Args:
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        **tables (pandas.DataFrame): the frames, by parameter name (errors name it).

    Returns:
        tuple: ``(frames, sdtypes)``: dict of prepared frames by the same names, and the
        sdtype by modelled column.

    Raises:
        TypeError, ValueError: see :func:`sdv_llm.evaluation.columns.checked_columns`.
    """
    sdtypes = checked_columns(metadata, table_name, **tables)
    frames = {}
    for name, frame in tables.items():
        frames[name] = pd.DataFrame({
            column: (as_numbers(frame[column], sdtype) if sdtype in NUMERIC_SDTYPES
                     else as_labels(frame[column]).to_numpy(dtype=object))
            for column, sdtype in sdtypes.items()})
    return frames, sdtypes


class _Notes(logging.Handler):
    def __init__(self, notes):
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record):
        self.notes.append(record.getMessage())


@contextlib.contextmanager
def _captured(notes):
    """Collect anonymeter's warnings and log records (WARNING and above) into ``notes``."""
    logger = logging.getLogger('anonymeter')
    handler, propagate = _Notes(notes), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            yield
        notes.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _short(note):
    """A note without the numbers that make each occurrence distinct, at most 200 characters."""
    return note.split(' Estimated rates:')[0].strip()[:200]


def _summary(notes):
    """Distinct notes, shortened, joined by ' | '."""
    return ' | '.join(dict.fromkeys(_short(n) for n in notes))


def _result(name, evaluator, confidence_level, notes):
    risk = evaluator.risk(confidence_level=confidence_level)
    rates = evaluator.results(confidence_level=confidence_level)
    detail = (f'attack {rates.attack_rate.value:.3f}, control {rates.control_rate.value:.3f}, '
              f'baseline {rates.baseline_rate.value:.3f}')
    if notes:
        detail += f'; {_summary(notes)}'
    return {name: float(risk.value), f'{name}_ci_low': float(risk.ci[0]),
            f'{name}_ci_high': float(risk.ci[1]), f'{name}_detail': detail}


def _equal_sizes(train, holdout, seed):
    """Subsample the larger of the two (seeded) to the size of the other."""
    size = min(len(train), len(holdout))
    return (train.sample(size, random_state=seed) if len(train) > size else train,
            holdout.sample(size, random_state=seed) if len(holdout) > size else holdout)


def singling_out_risk(train, synthetic, holdout, metadata, table_name=None,
                      mode='univariate', n_attacks=N_ATTACKS, n_cols=3, max_attempts=None,
                      match_sizes=True, confidence_level=0.95, seed=0):
    """anonymeter's singling-out risk, with the holdout as control.

    The attacker writes predicates (``age <= 17``, ``workclass == 'Never-worked' & ...``) that
    match exactly one synthetic row and counts those that match exactly one training row; the
    control counts those that match exactly one holdout row. Success depends on the number of
    rows searched, so with ``match_sizes`` the larger of train and holdout is subsampled
    (seeded) to the size of the other. anonymeter's own correction for a smaller control set
    (used when ``match_sizes`` is off) fits a curve to control subsamples of 1,000 rows and
    more, unseeded, and extrapolates: on Adult (5,000 training rows, 1,250 holdout rows, fresh
    Adult rows as synthetic data) it put the control rate at 0.014 where the rate measured on
    5,000 holdout rows was 0.113, a risk of 0.10 for rows that copy nobody. With matched sizes
    a synthesizer that copies its training rows scores about ``len(holdout) / len(train)``
    (the share of its copies that are in the searched subsample), 1.0 when sizes are equal.

    The predicates are drawn with ``seed``, but anonymeter lists the rare values of a column
    with polars' ``group_by``, whose order is not fixed: when a table has more univariate
    candidates than ``n_attacks``, the univariate risk varies slightly between runs (within
    its interval: 0.000 and 0.014 on fresh Adult rows). The multivariate risk is reproducible.

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see (the control).
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        mode (str): ``'univariate'`` (one column per predicate) or ``'multivariate'``.
        n_attacks (int): predicates written.
        n_cols (int): columns per multivariate predicate.
        max_attempts (int or None): most multivariate predicates tried; ``None``: 100 per
            attack (anonymeter's default, 10 million, can run for many minutes on tables
            where singling out is hard; on Adult about 80 attempts found one predicate, 0.1 s
            per 1,000 attempts).
        match_sizes (bool): compare train and holdout at the same size (see above).
        confidence_level (float): of the interval.
        seed (int): seed of the predicates and subsamples.

    Returns:
        dict: ``singling_out_<mode>_risk``, ``..._ci_low``, ``..._ci_high`` (floats in [0, 1])
        and ``..._detail`` (text: attack, control and baseline success rates, anonymeter's
        warnings).

    Raises:
        ImportError: without anonymeter.
        TypeError, ValueError: a missing column or an empty table (named); an unknown mode.
    """
    if mode not in ('univariate', 'multivariate'):
        raise ValueError(f"mode must be 'univariate' or 'multivariate', not {mode!r}.")
    evaluators = _anonymeter()
    frames, sdtypes = anonymeter_frames(metadata, table_name, train=train, synthetic=synthetic,
                                        holdout=holdout)
    ori, control = frames['train'], frames['holdout']
    if match_sizes:
        ori, control = _equal_sizes(ori, control, seed)
    notes = []
    with _captured(notes), numpy_global_seed(seed):
        evaluator = evaluators.SinglingOutEvaluator(
            ori=ori, syn=frames['synthetic'], n_attacks=n_attacks,
            n_cols=min(n_cols, len(sdtypes)), control=control,
            max_attempts=100 * n_attacks if max_attempts is None else max_attempts,
            seed=seed).evaluate(mode=mode)
        return _result(f'singling_out_{mode}_risk', evaluator, confidence_level, notes)


def linkability_risk(train, synthetic, holdout, metadata, table_name=None, aux_cols=None,
                     n_attacks=N_ATTACKS, n_neighbors=1, confidence_level=0.95, n_jobs=-2,
                     seed=0):
    """anonymeter's linkability risk, with the holdout as control.

    The attacker holds two halves of a target's columns (``aux_cols``) and links them when
    both halves have the same nearest synthetic row (Gower-like distance); the control does
    the same for holdout rows. ``min(n_attacks, len(train), len(holdout))`` targets of each.
    anonymeter draws the targets from numpy's global state (seeded here with ``seed`` and
    restored); its random-guess baseline is unseeded, so only the ``detail`` text varies
    between runs.

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see (the control).
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        aux_cols (tuple[list[str], list[str]] or None): the two halves; by default the
            modelled columns alternately (1st, 3rd, ... and 2nd, 4th, ...), so both halves
            mix numbers and categories.
        n_attacks (int): most targets.
        n_neighbors (int): a link needs a shared row among this many nearest.
        confidence_level (float): of the interval.
        n_jobs (int): threads of the neighbour search (joblib convention; anonymeter's
            default, -2, is every core but one).
        seed (int): seed of the targets.

    Returns:
        dict: ``linkability_risk``, ``linkability_risk_ci_low``, ``linkability_risk_ci_high``
        and ``linkability_risk_detail`` (text).

    Raises:
        ImportError: without anonymeter.
        TypeError, ValueError: a missing column or an empty table (named); fewer than two
            modelled columns; ``aux_cols`` naming a column that is not modelled.
    """
    evaluators = _anonymeter()
    frames, sdtypes = anonymeter_frames(metadata, table_name, train=train, synthetic=synthetic,
                                        holdout=holdout)
    columns = list(sdtypes)
    if aux_cols is None:
        if len(columns) < 2:
            raise ValueError(f'Linkability needs two or more modelled columns; the table has '
                             f'{len(columns)} ({", ".join(columns)}).')
        aux_cols = (columns[0::2], columns[1::2])
    unknown = [c for half in aux_cols for c in half if c not in sdtypes]
    if unknown:
        raise ValueError(f'aux_cols names column(s) that are not modelled: '
                         f'{", ".join(map(repr, unknown))}.')
    size = min(n_attacks, len(train), len(holdout))
    notes = []
    with _captured(notes), numpy_global_seed(seed):
        evaluator = evaluators.LinkabilityEvaluator(
            ori=frames['train'], syn=frames['synthetic'],
            aux_cols=(list(aux_cols[0]), list(aux_cols[1])), n_attacks=size,
            n_neighbors=n_neighbors, control=frames['holdout']).evaluate(n_jobs=n_jobs)
        return _result('linkability_risk', evaluator, confidence_level, notes)


def inference_risks(train, synthetic, holdout, metadata, table_name=None, secrets=None,
                    n_attacks=N_ATTACKS, confidence_level=0.95, n_jobs=-2, seed=0):
    """anonymeter's attribute-inference risk of each secret column, the holdout as control.

    For each secret, the attacker knows every other modelled column of a target and guesses
    the secret as that of the nearest synthetic row; a guess is right when equal (categories)
    or within 5 % (numbers and datetimes: anonymeter's regression mode). The control guesses
    the secrets of holdout rows. ``min(n_attacks, len(train), len(holdout))`` targets of each;
    targets drawn from numpy's global state (seeded with ``seed``, restored). anonymeter 1.1.0
    divides the difference by the guess, not by its absolute value, so a negative numeric
    guess always counts as right, for the attack and the control alike: columns with negative
    values get high success rates and wide intervals.

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see (the control).
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        secrets (list[str] or None): the secret columns; every modelled column when ``None``.
        n_attacks (int): most targets per secret.
        confidence_level (float): of the intervals.
        n_jobs (int): threads of the neighbour search (joblib convention).
        seed (int): seed of the targets.

    Returns:
        pandas.DataFrame: one row per secret: ``secret``, ``risk``, ``ci_low``, ``ci_high``
        (floats in [0, 1]), ``attack_rate``, ``control_rate``, ``baseline_rate`` (success
        rates) and ``notes`` (anonymeter's warnings, text).

    Raises:
        ImportError: without anonymeter.
        TypeError, ValueError: a missing column or an empty table (named); fewer than two
            modelled columns; a secret that is not a modelled column.
    """
    evaluators = _anonymeter()
    frames, sdtypes = anonymeter_frames(metadata, table_name, train=train, synthetic=synthetic,
                                        holdout=holdout)
    if len(sdtypes) < 2:
        raise ValueError(f'Attribute inference needs two or more modelled columns; the table '
                         f'has {len(sdtypes)} ({", ".join(sdtypes)}).')
    secrets = list(sdtypes) if secrets is None else list(secrets)
    unknown = [c for c in secrets if c not in sdtypes]
    if unknown:
        raise ValueError(f'secrets names column(s) that are not modelled: '
                         f'{", ".join(map(repr, unknown))}.')
    size = min(n_attacks, len(train), len(holdout))
    rows = []
    for secret in secrets:
        notes = []
        with _captured(notes), numpy_global_seed(seed):
            evaluator = evaluators.InferenceEvaluator(
                ori=frames['train'], syn=frames['synthetic'],
                aux_cols=[c for c in sdtypes if c != secret], secret=secret,
                regression=sdtypes[secret] in NUMERIC_SDTYPES, n_attacks=size,
                control=frames['holdout']).evaluate(n_jobs=n_jobs)
            risk = evaluator.risk(confidence_level=confidence_level)
            rates = evaluator.results(confidence_level=confidence_level)
        rows.append({'secret': secret, 'risk': float(risk.value), 'ci_low': float(risk.ci[0]),
                     'ci_high': float(risk.ci[1]), 'attack_rate': rates.attack_rate.value,
                     'control_rate': rates.control_rate.value,
                     'baseline_rate': rates.baseline_rate.value, 'notes': _summary(notes)})
    return pd.DataFrame(rows)


def inference_risk(train, synthetic, holdout, metadata, table_name=None, secrets=None,
                   n_attacks=N_ATTACKS, confidence_level=0.95, n_jobs=-2, seed=0):
    """The largest and the mean attribute-inference risk over the secret columns.

    See :func:`inference_risks` (same arguments) for the attack.

    Returns:
        dict: ``inference_risk_max`` with the interval of that secret
        (``inference_risk_max_ci_low``, ``inference_risk_max_ci_high``), its column
        (``inference_risk_max_column``, text), ``inference_risk_mean`` (no interval: the
        secrets' risks are not independent) and ``inference_risk_detail`` (text: the three
        largest risks and anonymeter's warnings).
    """
    return summarize_inference(inference_risks(train, synthetic, holdout, metadata, table_name,
                                               secrets, n_attacks, confidence_level, n_jobs,
                                               seed))


def summarize_inference(risks):
    """The summary of :func:`inference_risk` from the table of :func:`inference_risks`."""
    top = risks.sort_values('risk', ascending=False, kind='stable')
    worst = top.iloc[0]
    detail = ', '.join(f'{r.secret} {r.risk:.3f}' for r in top.head(3).itertuples())
    secrets_by_note = {}
    for secret, found in zip(risks['secret'], risks['notes']):
        for note in filter(None, found.split(' | ')):
            secrets_by_note.setdefault(note, []).append(secret)
    notes = ' | '.join(f'{note} ({", ".join(names)})' for note, names in secrets_by_note.items())
    return {'inference_risk_max': float(worst['risk']),
            'inference_risk_max_ci_low': float(worst['ci_low']),
            'inference_risk_max_ci_high': float(worst['ci_high']),
            'inference_risk_max_column': str(worst['secret']),
            'inference_risk_mean': float(risks['risk'].mean()),
            'inference_risk_detail': f'largest: {detail}' + (f'; {notes}' if notes else '')}
