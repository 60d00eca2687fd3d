"""Invalid rows: synthetic values that the SDV metadata does not allow."""

import numpy as np
import pandas as pd


def invalid_rows(synthetic, metadata, table_name=None):
    """Count the rows with a value the metadata does not allow.

    A value is invalid when it is an unknown category of a categorical or ordinal column with
    ``range_values``, a non-number or a number outside ``[range_min, range_max]`` (tolerance
    1e-9) of a numerical column, an unparsable datetime, or a missing value in a column whose
    ``range_is_nullable`` is false. Columns of ``metadata`` absent from ``synthetic`` are skipped.

    Args:
        synthetic (pandas.DataFrame): the synthetic table, ``n`` rows.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``; the only one when ``None``.

    Returns:
        int: number of invalid rows, in ``[0, n]``.
    """
    table_name = table_name or metadata._get_single_table_name()
    columns = metadata.tables[table_name].columns
    bad = np.zeros(len(synthetic), dtype=bool)
    for column, spec in columns.items():
        if column not in synthetic:
            continue
        values = synthetic[column]
        present = values.notna().to_numpy()
        sdtype = spec.get('sdtype')
        if sdtype in ('categorical', 'ordinal') and spec.get('range_values'):
            allowed = {str(v) for v in spec['range_values']}
            bad |= present & ~values.astype(str).isin(allowed).to_numpy()
        elif sdtype == 'numerical':
            numbers = pd.to_numeric(values, errors='coerce').to_numpy(dtype=float)
            bad |= present & np.isnan(numbers)
            if spec.get('range_min') is not None:
                bad |= present & (numbers < spec['range_min'] - 1e-9)
            if spec.get('range_max') is not None:
                bad |= present & (numbers > spec['range_max'] + 1e-9)
        elif sdtype == 'datetime':
            parsed = pd.to_datetime(values, format=spec.get('datetime_format'), errors='coerce')
            bad |= present & parsed.isna().to_numpy()
        if not spec.get('range_is_nullable', True):
            bad |= ~present
    return int(bad.sum())
