"""Column order: the order in which a row's columns are written and generated."""

ORDERS = ('fixed',)


def resolve_column_order(column_order, columns):
    """Turn the ``column_order`` parameter into a list of column names.

    Args:
        column_order (str or list[str]): ``'fixed'`` (the table's order) or a permutation of the
            modelled columns.
        columns (list[str]): the modelled columns in table order.

    Returns:
        list[str]

    Raises:
        ValueError: for an unknown order name or a list that is not a permutation of ``columns``.
    """
    if isinstance(column_order, str):
        if column_order == 'fixed':
            return list(columns)
        raise ValueError(
            f"Invalid column_order {column_order!r}: use one of {ORDERS} or a list of the "
            'modelled column names.'
        )

    order = list(column_order)
    missing = [column for column in columns if column not in order]
    extra = [column for column in order if column not in columns]
    if missing or extra or len(set(order)) != len(order):
        raise ValueError(
            'column_order must name every modelled column exactly once; '
            f'missing {missing}, unknown {extra}.'
        )
    return order
