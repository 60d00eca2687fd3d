"""Column order: the order in which a row's columns are written and generated."""

ORDERS = ('fixed', 'fd', 'random')

FD_MAX_ERROR = 0.01
"""Largest g3 error of the dependencies that shape the ``'fd'`` order (1 % of rows)."""


def resolve_column_order(column_order, data):
    """Turn the ``column_order`` parameter into the base order and the dependencies found.

    * ``'fixed'``: the table's order.
    * ``'fd'``: determinants before the columns they determine, along the exact and
      approximate (g3 error at most ``FD_MAX_ERROR``) functional dependencies of ``data``
      (``dependency_order``, after arXiv 2406.14541).
    * ``'random'``: the table's order as the base; training presents each row in a new random
      permutation every epoch and sampling draws one per row (as GReaT does).
    * a list: that order.

    Args:
        column_order (str or list[str]): see above.
        data (pandas.DataFrame): the training table (modelled columns, table order).

    Returns:
        tuple: ``(order, dependencies)``: ``list[str]`` and ``list[FunctionalDependency]``
        (dependencies are searched for ``'fd'`` only; empty otherwise).

    Raises:
        ValueError: for an unknown order name or a list that is not a permutation of the
            modelled columns.
    """
    from sdv_llm.schema.dependencies import dependency_order, discover_dependencies

    columns = list(data.columns)
    if isinstance(column_order, str):
        if column_order in ('fixed', 'random'):
            return columns, []
        if column_order == 'fd':
            dependencies = discover_dependencies(data, max_error=FD_MAX_ERROR)
            return dependency_order(columns, dependencies), dependencies
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
    return order, []
