"""The columns the metrics compare, as numbers or labels, and their metadata for SDMetrics.

Only the modelled columns (sdtype numerical, datetime, categorical, boolean, ordinal) are
compared; keys and PII columns are generated, not learned.
"""

import numpy as np
import pandas as pd

#: Sdtypes compared by the metrics; keys, ids and PII are generated, not learned.
MODELLED_SDTYPES = ('numerical', 'datetime', 'categorical', 'boolean', 'ordinal')
NUMERIC_SDTYPES = ('numerical', 'datetime')


def modelled_columns(metadata, table_name=None):
    """The columns a synthesizer learns, with their sdtypes.

    Args:
        metadata (sdv.metadata.Metadata): SDV metadata.
        table_name (str or None): which table; the only one when ``None``.

    Returns:
        dict[str, str]: sdtype by column, in the metadata's order.
    """
    table_name = table_name or metadata._get_single_table_name()
    columns = metadata.tables[table_name].columns
    return {name: spec['sdtype'] for name, spec in columns.items()
            if spec['sdtype'] in MODELLED_SDTYPES}


def table_metadata_dict(metadata, table_name=None, columns=None):
    """The metadata of one table as a single-table SDMetrics dict (``{'columns': ...}``).

    Args:
        metadata (sdv.metadata.Metadata): SDV metadata.
        table_name (str or None): which table; the only one when ``None``.
        columns (iterable[str] or None): keep only these columns.

    Returns:
        dict
    """
    table_name = table_name or metadata._get_single_table_name()
    table = metadata.to_dict()['tables'][table_name]
    keep = set(columns) if columns is not None else set(table['columns'])
    result = {'columns': {c: s for c, s in table['columns'].items() if c in keep}}
    if table.get('primary_key') in keep:
        result['primary_key'] = table['primary_key']
    return result


def as_numbers(values, sdtype):
    """Numbers of a column (datetimes as nanoseconds); ``nan`` where missing or unparsable."""
    if sdtype == 'datetime':
        parsed = pd.to_datetime(values, errors='coerce', format='mixed')
        numbers = parsed.astype('int64').astype(float)
        numbers[parsed.isna().to_numpy()] = np.nan
        return np.asarray(numbers, dtype=float)
    return pd.to_numeric(values, errors='coerce').to_numpy(dtype=float)


def as_labels(values):
    """Text labels of a column, missing values as ``'<NA>'``."""
    return values.astype(object).where(values.notna(), '<NA>').astype(str)
