"""Conditions compiled into a sampling plan: conditioned columns first, forced or constrained.

A condition fixes a column to one value, restricts it to a set of values, or bounds it to a
range. Fixed values are written as forced tokens at the start of the row; sets and ranges get a
value automaton of their own, appended to the row grammar, that the row enters instead of the
column's full automaton. Conditioned columns are generated first, the other columns after them
in the base order (or a random order for models trained on random permutations), so the model
generates the rest of each row conditioned on them and no row is rejected.
"""

import numpy as np
import pandas as pd

from sdv_llm.decoding.sampler import SamplingPlan


def normalize_constraint(column, constraint):
    """Classify a condition on one column.

    Args:
        column (str): the column, for messages.
        constraint: a scalar (one value), a ``list``/``set``/``numpy.ndarray``/``pandas.Series``
            (a set of values) or a 2-tuple ``(low, high)`` (an inclusive range; ``None`` leaves
            a side open).

    Returns:
        tuple: ``('value', v)``, ``('values', list)`` or ``('range', low, high)``.

    Raises:
        ValueError: a tuple that is not ``(low, high)``.
    """
    if isinstance(constraint, tuple):
        if len(constraint) != 2:
            raise ValueError(f"The range condition on column '{column}' must be a (low, high) "
                             f'tuple, not {constraint!r}.')
        return ('range', constraint[0], constraint[1])
    if isinstance(constraint, (list, set, frozenset, np.ndarray, pd.Series, pd.Index)):
        return ('values', list(constraint))
    return ('value', constraint)


def build_plan(serializer, automaton, num_rows, rng, random_order=False, known=None,
               known_mask=None, constraints=None, allow_null=True, standing=None, loop=None):
    """Column order, forced tokens and grammar of each row to sample.

    Args:
        serializer (CompactSerializer or TextSerializer): vocabulary and schema.
        automaton (TokenAutomaton): the row grammar (on any device).
        num_rows (int): rows to plan.
        rng (numpy.random.Generator): draws the random orders.
        random_order (bool): order the free columns of each row at random (models trained on
            random permutations); else in ``schema.order``.
        known (pandas.DataFrame or None): ``num_rows`` rows of fixed values of some modelled
            columns.
        known_mask (numpy.ndarray or None): bool ``(num_rows, len(known.columns))``, which cells
            of ``known`` are fixed (default: all of them).
        constraints (dict or None): ``{column: ('values', list) | ('range', low, high)}``
            applied to every row (see ``normalize_constraint``).
        allow_null (bool): whether generated cells may be missing; ``False`` fills every
            generated cell with a value (imputation).
        standing (dict or None): ``{column: values}`` that a column may take on every row
            (``FixedIncrements``, see ``sdv_llm.decoding.constraints.constraint_restrictions``).
            Unlike a condition, the column keeps its place in the order; a condition on the same
            column is narrowed to these values.
        loop (Loop or None): several rows per sequence (``sdv_llm.relational``): the columns
            from ``loop.slot`` on repeat, so the row's ``end`` entry (where ``loop.token``
            starts another row and ``<eos>`` ends the sequence) is put before them; the
            order is then the base order (``random_order`` must be False).

    Returns:
        SamplingPlan

    Raises:
        ValueError: a condition names an unknown column, or a value the column cannot take
            (the message names the column).
    """
    schema = serializer.schema
    order = schema.order
    num_columns = len(order)
    position = {column: index for index, column in enumerate(order)}
    constraints = dict(constraints or {})
    unknown = [c for c in list(constraints) + list(getattr(known, 'columns', []))
               if c not in position]
    if unknown:
        raise ValueError(f'Conditions name columns the synthesizer does not model: {unknown}.')

    fixed = np.zeros((num_rows, num_columns), dtype=bool)
    blocks = [np.full((num_rows, 0), -1, dtype=np.int64) for _ in order]
    if known is not None and len(known.columns):
        known = known.reset_index(drop=True)
        mask = (np.ones(known.shape, dtype=bool) if known_mask is None
                else np.asarray(known_mask, dtype=bool))
        for j, column in enumerate(known.columns):
            rows = mask[:, j]
            if not rows.any():
                continue
            k = position[column]
            values = known[column][rows]
            schema.codecs[column].check_values(values, known=True)
            local = serializer.value_block(column, values)
            block = np.full((num_rows, local.shape[1]), -1, dtype=np.int64)
            block[rows] = local
            blocks[k] = block
            fixed[:, k] = rows
    if fixed.any() and serializer.fixed_order:
        raise ValueError(
            f"serialization={serializer.name!r} keeps every row in the header's column order, "
            'so known values that differ between rows cannot be generated first; use the '
            "'text' or 'json' serialization."
        )

    standing = {column: values for column, values in (standing or {}).items()
                if column in position}
    restrictions = []
    for column, (kind, *spec) in constraints.items():
        if column in standing:
            kind, spec = 'values', (_narrowed(column, kind, spec, standing[column]),)
        restrictions.append((column, serializer.restriction(column, kind, spec)))
    covered = set(constraints)
    for column in order:
        if column in constraints:
            continue
        if column in standing:
            # A value set restricts on its own: it leaves out <null> unless added here, and
            # the values value protection hides (none of them is listed).
            values = list(standing[column])
            if allow_null and schema.codecs[column].nullable:
                values.append(np.nan)
            restrictions.append((column, serializer.restriction(column, 'values', (values,))))
            covered.add(column)
            continue
        if not allow_null:
            restriction = serializer.restriction(column, 'present', ())
            if restriction is not None:
                restrictions.append((column, restriction))
                covered.add(column)
    # Values hidden by value protection (a ``<rare>`` token in training) are never sampled:
    # those columns enter their automaton without it (conditions and 'present' leave it out).
    for column in order:
        restriction = None if column in covered else serializer.restriction(column, 'visible', ())
        if restriction is not None:
            restrictions.append((column, restriction))
    column_start = automaton.column_start.cpu().numpy()
    entry_of_column = np.broadcast_to(column_start[:num_columns], fixed.shape).copy()
    # A text automaton has a second clause per column that ends the row (see
    # sdv_llm.decoding.text_automaton); the compact one ends rows at ``end`` alone.
    last_start = (column_start[num_columns + 1:] if len(column_start) > num_columns + 1
                  else column_start[:num_columns])
    last_of_column = np.broadcast_to(last_start, fixed.shape).copy()
    restricted = np.zeros_like(fixed)
    if restrictions:
        automaton, starts = automaton.extend(serializer, restrictions)
        for (column, _), start in zip(restrictions, starts):
            middle, last = start if isinstance(start, tuple) else (start, start)
            k = position[column]
            free = ~fixed[:, k]
            entry_of_column[free, k] = middle
            last_of_column[free, k] = last
            restricted[free, k] = column in constraints

    # Fixed columns first, then conditioned ones, both in the base order; then the rest.
    rank = np.broadcast_to(np.arange(num_columns) / num_columns, fixed.shape)
    if random_order:
        rank = np.where(fixed | restricted, rank, rng.random(fixed.shape))
    priority = np.where(fixed, 0, np.where(restricted, 1, 2))
    if serializer.fixed_order:
        priority = np.zeros_like(priority)
    key = priority * 2 + rank
    orders = np.argsort(key, axis=1, kind='stable')
    entries = np.take_along_axis(entry_of_column, orders, axis=1)
    entries[:, -1] = np.take_along_axis(last_of_column, orders[:, -1:], axis=1)[:, 0]
    entries = np.concatenate([entries, np.full((num_rows, 1), automaton.end)], axis=1)
    columns = np.concatenate([orders, np.full((num_rows, 1), num_columns)], axis=1)
    forced = None
    if fixed.any():
        forced = serializer.join(blocks, orders)
        forced = forced[:, : int((forced >= 0).sum(axis=1).max())]
    first_free = (fixed | restricted).sum(axis=1).astype(np.int64)
    if loop is not None:
        if random_order:
            raise ValueError('Repeated rows (loop) keep the base column order.')
        at = loop.slot
        end = np.full((num_rows, 1), automaton.end, dtype=np.int64)
        gate = np.full((num_rows, 1), num_columns, dtype=np.int64)
        entries = np.concatenate([entries[:, :at], end, entries[:, at:]], axis=1)
        columns = np.concatenate([columns[:, :at], gate, columns[:, at:]], axis=1)
    return SamplingPlan(entries.astype(np.int64), columns.astype(np.int64), forced, automaton,
                        first_free, loop=loop, prompt=serializer.prompt)


def _narrowed(column, kind, spec, allowed):
    """A condition on a column with a standing value set, as the values it leaves.

    Raises:
        ValueError: no allowed value meets the condition (the column is named).
    """
    if kind == 'range':
        low, high = spec
        values = [v for v in allowed if (low is None or v >= low) and (high is None or v <= high)]
    else:
        allowed = set(allowed)
        values = [v for v in spec[0] if pd.isna(v) or v in allowed]
    if not values:
        raise ValueError(f"The condition on column '{column}' leaves no value that its "
                         'constraint (FixedIncrements) allows.')
    return values
