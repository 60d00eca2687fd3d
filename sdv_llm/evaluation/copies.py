"""Exact copies: synthetic rows equal to a training row, beside the holdout's own rate."""

import numpy as np
import pandas as pd

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    as_numbers,
    checked_columns,
)

#: Most decimal places kept when numbers are compared (beyond this, float noise).
MAX_DECIMALS = 9


def decimal_places(values, max_decimals=MAX_DECIMALS):
    """Decimal places of a column of numbers: the fewest that keep every value.

    A value is kept when rounding changes it by at most ``1e-9`` of its size (so float
    noise, ``0.30000000000000004``, counts as one decimal).

    Args:
        values (numpy.ndarray): floats; ``nan`` and infinities are ignored.
        max_decimals (int): the most returned.

    Returns:
        int: in ``[0, max_decimals]``.
    """
    finite = values[np.isfinite(values)]
    tolerance = 1e-9 * np.maximum(1.0, np.abs(finite))
    for decimals in range(max_decimals):
        if np.all(np.abs(np.round(finite, decimals) - finite) <= tolerance):
            return decimals
    return max_decimals


def _number_form(values, decimals):
    """Numbers rounded to ``decimals``, ``-0.0`` as ``0.0``; ``nan`` where missing."""
    return np.round(values, decimals) + 0.0


def _label_form(values):
    """Labels as text; labels that are numbers (``1``, ``'1'``, ``1.0``) as one text, booleans
    as ``'True'`` and ``'False'`` (like the text a CSV file holds)."""
    labels = as_labels(values)
    objects = values.astype(object)
    flags = objects.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    numbers = pd.to_numeric(objects.where(values.notna() & ~flags), errors='coerce')
    numeric = numbers.notna().to_numpy()
    if numeric.any():
        labels = labels.copy()
        labels[numeric] = [repr(float(v)) for v in numbers[numeric]]
    return labels


def canonical_rows(tables, sdtypes, reference=0):
    """Every row of every table as one integer code per column; equal rows, equal codes.

    Numbers (datetimes as nanoseconds) are rounded to the decimal places of the reference
    table's column (at most :data:`MAX_DECIMALS`); labels are compared as text, numeric labels
    as numbers; a missing value equals a missing value.

    Args:
        tables (list[pandas.DataFrame]): frames holding the columns of ``sdtypes``.
        sdtypes (dict[str, str]): sdtype by column compared.
        reference (int): index of the table that sets the decimal places.

    Returns:
        list[pandas.MultiIndex]: one per table, one entry per row (``isin`` finds equal rows).
    """
    codes = [[] for _ in tables]
    for column, sdtype in sdtypes.items():
        if sdtype in NUMERIC_SDTYPES:
            values = [as_numbers(t[column], sdtype) for t in tables]
            decimals = decimal_places(values[reference])
            forms = [_number_form(v, decimals) for v in values]
        else:
            forms = [_label_form(t[column]).to_numpy() for t in tables]
        # One factorization over all tables: the same value gets the same code (nan: -1).
        column_codes, _ = pd.factorize(np.concatenate(forms))
        start = 0
        for table_codes, form in zip(codes, forms):
            table_codes.append(column_codes[start:start + len(form)])
            start += len(form)
    return [pd.MultiIndex.from_arrays(c) for c in codes]


def exact_copy_rate(train, synthetic, holdout, metadata, table_name=None):
    """Share of synthetic rows equal to a training row, beside the holdout's own share.

    Rows are compared on the modelled columns in a canonical form (see
    :func:`canonical_rows`: numbers rounded to the training column's decimal places, missing
    equals missing). The holdout's rate, the share of holdout rows equal to some training row,
    is what a synthesizer that draws new rows from the same distribution is expected to reach
    (duplicates are common in tables of few, coarse columns); a higher synthetic rate means
    training rows are reproduced verbatim.

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.

    Returns:
        dict[str, float]: ``exact_copy_rate`` and ``holdout_copy_rate``, shares in [0, 1].

    Raises:
        TypeError, ValueError: see :func:`sdv_llm.evaluation.columns.checked_columns` (a
            missing column or an empty table, named).
    """
    sdtypes = checked_columns(metadata, table_name, train=train, synthetic=synthetic,
                              holdout=holdout)
    rows_train, rows_synthetic, rows_holdout = canonical_rows([train, synthetic, holdout],
                                                              sdtypes)
    return {'exact_copy_rate': float(np.mean(rows_synthetic.isin(rows_train))),
            'holdout_copy_rate': float(np.mean(rows_holdout.isin(rows_train)))}
