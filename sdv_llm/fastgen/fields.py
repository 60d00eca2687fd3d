"""Field classification and per-field distributions, from data (FASTGEN, arXiv 2507.15839, s. 3).

FASTGEN has a language model sort each field into numerical, categorical or free text and
infer its distribution; here the metadata's sdtype and the values decide (the language-model
path, ``sdv_llm.fastgen.llm``, proposes families that this module checks). A field becomes:

- ``'quantile'``: numbers and datetimes with more than ``max_discrete_values`` values; a
  quantile function (``sdv_llm.fastgen.families``), range, decimal places, missing rate;
- ``'discrete'``: categoricals, booleans, ordinals and numbers with few values; values (missing
  as ``None``) and frequencies;
- ``'text'``: high-cardinality strings and PII columns (``sdv_llm.fastgen.text_model``);
- ``'id'``: keys, numbered uniquely.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from sdv_llm.fastgen.families import FAMILIES, choose_family, quantile_knots
from sdv_llm.fastgen.text_model import fit_text

_DISCRETE_SDTYPES = ('categorical', 'boolean', 'ordinal')


@dataclass
class FieldOptions:
    """Limits shared by the fields of one table.

    Attributes:
        max_discrete_values (int): numbers with at most this many distinct values are discrete.
        max_categories (int): categoricals with more distinct values, most of them rare, are
            free text.
        text_min_count (int): a text value seen this often is released with its frequency.
        markov_order (int): characters of context of the text model.
        knots (int): points of a tabulated quantile function.
        families (tuple[str]): candidate families (``sdv_llm.fastgen.families.FAMILIES``).
    """

    max_discrete_values: int = 50
    max_categories: int = 1000
    text_min_count: int = 5
    markov_order: int = 3
    knots: int = 1025
    families: tuple = field(default_factory=lambda: tuple(FAMILIES))


def decimal_places(values, most=10):
    """The fewest decimal places that write every value exactly (at most ``most``).

    Args:
        values (numpy.ndarray): float ``(n,)``, no NaN.

    Returns:
        int
    """
    for places in range(most + 1):
        if np.allclose(np.round(values, places), values, rtol=0, atol=10.0 ** -(places + 3)):
            return places
    return most


def classify(column_metadata, values, options):
    """The field kind of one column: ``'quantile'``, ``'discrete'``, ``'text'`` or ``'id'``.

    Args:
        column_metadata (dict): the column's SDV metadata.
        values (pandas.Series): the training values.
        options (FieldOptions): limits.

    Returns:
        str
    """
    sdtype = column_metadata.get('sdtype')
    distinct = values.nunique(dropna=True)
    if sdtype == 'id':
        return 'id'
    if sdtype in ('numerical', 'datetime'):
        return 'discrete' if distinct <= options.max_discrete_values else 'quantile'
    if sdtype in _DISCRETE_SDTYPES:
        counts = values.value_counts()
        rare_share = counts[counts < options.text_min_count].sum() / max(1, counts.sum())
        if distinct > options.max_categories and rare_share > 0.5:
            return 'text'
        return 'discrete'
    return 'text'


def parse_datetimes(values, datetime_format):
    """Datetimes as int64 nanoseconds since the epoch (``NaN`` where missing or unparsable).

    Returns:
        pandas.Series: float64.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        stamps = pd.to_datetime(values, format=datetime_format, errors='coerce')
    numbers = stamps.astype('int64').astype(float)
    return numbers.where(stamps.notna())


def field_numbers(column_metadata, values):
    """The column as floats (datetimes in nanoseconds), and whether it is a datetime."""
    if column_metadata.get('sdtype') == 'datetime':
        return parse_datetimes(values, column_metadata.get('datetime_format')), True
    return pd.to_numeric(values, errors='coerce').astype(float), False


def fit_quantile(column_metadata, values, options, rng, choice=None):
    """A ``'quantile'`` field.

    Args:
        column_metadata (dict): SDV metadata of the column.
        values (pandas.Series): training values.
        options (FieldOptions): limits.
        rng (numpy.random.Generator): draws the family-fitting subsample.
        choice (families.Choice or None): a distribution chosen elsewhere (the LLM path).

    Returns:
        dict: the field (without the latent names, set by ``fit_fields``).
    """
    numbers, is_datetime = field_numbers(column_metadata, values)
    present = numbers.dropna().to_numpy()
    if len(present) == 0:
        present = np.zeros(1)
    if choice is None:
        choice = choose_family(present, options.families, rng)
    p, x = quantile_knots(present, choice, options.knots)
    integral = bool(np.all(present == np.round(present)))
    places = 0 if integral else decimal_places(present)
    return {'kind': 'quantile', 'p': p, 'x': x, 'decimals': places,
            'integer': integral and not is_datetime, 'datetime': is_datetime,
            'datetime_format': column_metadata.get('datetime_format') if is_datetime and
            not pd.api.types.is_datetime64_any_dtype(values) else None,
            'min': float(present.min()), 'max': float(present.max()),
            'family': choice.family, 'params': choice.params, 'source': choice.source,
            'null_rate': float(numbers.isna().mean())}


def python_scalar(value):
    """A JSON-compatible Python scalar (``None`` for missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
            or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value)
    return value


def fit_discrete(column_metadata, values):
    """A ``'discrete'`` field: values (missing as ``None``) and their frequencies.

    Order: numbers (and numeric ordinals) ascending, other ordinals by their ``range_values``
    (SDV 2.0's order), other categories by
    decreasing frequency (the order only shapes how the copula couples the field).

    Returns:
        dict
    """
    sdtype = column_metadata.get('sdtype')
    numeric = sdtype in ('numerical', 'datetime') and not (
        sdtype == 'datetime' and not pd.api.types.is_datetime64_any_dtype(values))
    counts = values.value_counts(dropna=False)
    labels = list(counts.index)
    present = [v for v in labels if not pd.isna(v)]
    missing = [v for v in labels if pd.isna(v)]
    order = column_metadata.get('order') or column_metadata.get('range_values')
    numbers = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                  for v in present)
    if numeric or (sdtype == 'ordinal' and numbers):
        keys = sorted(present) + missing
    elif sdtype == 'ordinal' and order:
        rank = {v: i for i, v in enumerate(order)}
        keys = sorted(present, key=lambda v: (v not in rank, rank.get(v, 0))) + missing
    else:
        keys = labels
    position = {('missing' if pd.isna(v) else ('value', v)): i for i, v in enumerate(labels)}
    probs = counts.to_numpy(dtype=float)[[position['missing' if pd.isna(v) else ('value', v)]
                                          for v in keys]]
    probs = probs / probs.sum()
    return {'kind': 'discrete', 'values': [python_scalar(v) for v in keys], 'probs': probs.tolist(),
            'bounds': discrete_bounds(probs), 'numeric': numeric}


def discrete_bounds(probs):
    """Normal-score thresholds between consecutive categories: ``ndtri(cumsum(probs))[:-1]``."""
    cumulative = np.clip(np.cumsum(probs)[:-1], 1e-12, 1 - 1e-12)
    return special.ndtri(cumulative).tolist()


def fit_id(values):
    """An ``'id'`` field: integers numbered from the smallest key, or ``prefix + digits``."""
    present = values.dropna()
    numeric = pd.to_numeric(present, errors='coerce')
    if len(present) and numeric.notna().all() and pd.api.types.is_numeric_dtype(values):
        return {'kind': 'id', 'style': 'int', 'start': int(numeric.min()) if len(numeric) else 0}
    text = present.astype(str)
    prefix = text.str.extract(r'^(\D*)')[0].mode()
    digits = text.str.extract(r'(\d+)$')[0].dropna()
    return {'kind': 'id', 'style': 'string', 'start': 0,
            'prefix': prefix.iloc[0] if len(prefix) else 'id_',
            'width': int(digits.str.len().median()) if len(digits) else 0}


_LLM_KINDS = {'numerical': 'quantile', 'categorical': 'discrete', 'text': 'text'}


def checked_kind(answer, data_kind, values):
    """The kind a language model proposed, if the values allow it, and its source.

    A number may be ``quantile`` or, with at most 1,000 distinct values, ``discrete``; a
    category may be ``discrete``, or ``text`` only where the data say so (new strings would
    leave the metadata's categories).

    Returns:
        tuple[str, str]: ``(kind, source)``, source ``'llm'`` or ``'llm-refined'``.
    """
    kind = _LLM_KINDS.get(answer.get('kind'))
    allowed = {'quantile': ('quantile', 'discrete'), 'discrete': ('discrete',),
               'text': ('text', 'discrete'), 'id': ()}[data_kind]
    if kind not in allowed or (data_kind == 'quantile' and kind == 'discrete'
                               and values.nunique() > 1000):
        return data_kind, 'llm-refined'
    if data_kind == 'discrete' and kind == 'quantile':
        return data_kind, 'llm-refined'
    return kind, 'llm'


def fit_fields(data, columns_metadata, options, rng, proposals=None):
    """Classify and fit every column.

    Args:
        data (pandas.DataFrame): the training table.
        columns_metadata (dict): ``{column: SDV column metadata}``.
        options (FieldOptions): limits.
        rng (numpy.random.Generator): seeds the fitting subsamples.
        proposals (dict or None): ``{column: answer}`` of a language model
            (``sdv_llm.fastgen.llm.propose``), checked against the data.

    Returns:
        dict: ``{column: field}``; each field records its ``source`` (``'data'``, ``'llm'``
        or ``'llm-refined'``).
    """
    from sdv_llm.fastgen.llm import check_choice

    fields = {}
    for column in data.columns:
        column_metadata = columns_metadata.get(column, {'sdtype': 'categorical'})
        values = data[column]
        kind, source = classify(column_metadata, values, options), 'data'
        answer = (proposals or {}).get(column)
        if answer is not None and kind != 'id':
            if kind == 'discrete' and column_metadata.get('sdtype') in ('numerical', 'datetime'):
                kind = 'quantile'  # a number's kind is the model's to choose
            kind, source = checked_kind(answer, kind, values)
        if kind == 'quantile':
            choice = None
            if answer is not None:
                present = field_numbers(column_metadata, values)[0].dropna().to_numpy()
                choice = check_choice(answer, present if len(present) else np.zeros(1))
            fields[column] = fit_quantile(column_metadata, values, options, rng, choice)
            source = fields[column]['source'] if choice is None or source == 'llm' else source
        elif kind == 'discrete':
            fields[column] = fit_discrete(column_metadata, values)
        elif kind == 'id':
            fields[column] = fit_id(values)
        else:
            fields[column] = {**fit_text(values, options.text_min_count, options.markov_order),
                              'null_rate': float(values.isna().mean())}
        fields[column]['sdtype'] = column_metadata.get('sdtype')
        fields[column]['source'] = source
    return fields
