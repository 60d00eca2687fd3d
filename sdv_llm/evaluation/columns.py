"""The columns the metrics compare, as numbers or labels, and their metadata for SDMetrics.

Only the modelled columns (sdtype numerical, datetime, categorical, boolean, ordinal) are
compared; keys and PII columns are generated, not learned. Also here: the input checks of the
privacy audits and a seeded, restored numpy global state for libraries that draw from it.
"""

import contextlib

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


def checked_columns(metadata, table_name=None, min_rows=None, **tables):
    """The modelled columns of a table, after checking the data frames that should hold them.

    Args:
        metadata (sdv.metadata.Metadata): SDV metadata.
        table_name (str or None): which table; the only one when ``None``.
        min_rows (dict[str, int] or None): least rows by parameter name (default 1 each).
        **tables (pandas.DataFrame): the frames to check, by the caller's parameter name
            (``real_train=...``), which the errors name.

    Returns:
        dict[str, str]: sdtype by modelled column, in the metadata's order.

    Raises:
        TypeError: when a table is not a ``pandas.DataFrame`` (named).
        ValueError: when ``table_name`` is not in ``metadata`` (or is needed: several tables),
            the table has no modelled column, a frame has fewer rows than asked (empty), or a
            frame lacks modelled columns (named).
    """
    if table_name is None:
        if len(metadata.tables) != 1:
            raise ValueError(f'table_name is needed: the metadata has {len(metadata.tables)} '
                             f'tables ({", ".join(metadata.tables)}).')
    elif table_name not in metadata.tables:
        raise ValueError(f'table_name {table_name!r} is not in the metadata (tables: '
                         f'{", ".join(metadata.tables)}).')
    sdtypes = modelled_columns(metadata, table_name)
    if not sdtypes:
        raise ValueError(f'The metadata of table {table_name or ""!r} has no modelled column '
                         f'(sdtypes {", ".join(MODELLED_SDTYPES)}).')
    min_rows = min_rows or {}
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f'{name} must be a pandas.DataFrame, not {type(frame).__name__}.')
        least = min_rows.get(name, 1)
        if len(frame) < least:
            raise ValueError(f'{name} has {len(frame)} rows; at least {least} needed.'
                             if len(frame) else f'{name} is empty.')
        missing = [c for c in sdtypes if c not in frame.columns]
        if missing:
            raise ValueError(f'{name} lacks the column(s) {", ".join(map(repr, missing))} '
                             'of the metadata.')
    return sdtypes


@contextlib.contextmanager
def numpy_global_seed(seed):
    """Seed numpy's global random state inside the block, and restore it after.

    For libraries that draw from it (``DataFrame.sample`` without ``random_state``, SDMetrics'
    subsampling, anonymeter's targets).
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
