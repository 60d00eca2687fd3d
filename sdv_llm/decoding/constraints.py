"""SDV constraints (``sdv.cag``) compiled into decoding rules.

A rule says: once column ``determinant`` is sampled with value ``x``, column ``dependent``
(if it comes later in the row) may only take the values ``allowed[x]``. The sampler enforces
rules as it enforces exact functional dependencies (``sdv_llm.decoding.dependencies``): the
dependent's automaton is swapped for the restricted one, so the model's distribution is kept
inside the allowed values and no row is rejected.

- ``Inequality(low, high)``: ``low = x`` allows ``high >= x`` (``> x`` when strict), and
  ``high = y`` allows ``low <= y``: whichever is generated first bounds the other.
- ``Range(low, middle, high)``: the inequalities ``low <= middle`` and ``middle <= high``.
- ``FixedCombinations(columns)``: for every pair of the columns, a value allows the values
  of the other column seen with it in the training rows. With two columns this is exact;
  with more, rows can still combine seen pairs into an unseen triple, and those are drawn
  again (see ``LLMSynthesizer``).
- ``OneHotEncoding(columns)``: a column at 1 allows only 0 in every other column of the group
  (the pairwise form of "exactly one 1"); each column keeps to 0 and 1 on every row
  (``constraint_restrictions``). A row whose group is generated all zeros cannot be
  caught by a pairwise rule and is drawn again.

A determinant value written with several tokens (a binned number) is not indexed, so the
dependent is free there and the row is checked afterwards.

``FixedIncrements(column, increment)`` restricts one column on every row, without a
determinant: ``constraint_restrictions`` gives its value set (the multiples of the increment in
the training range), which the sampling plan uses as the column's automaton, as a condition's
value set, but without moving the column first (``sdv_llm.decoding.conditions.build_plan``).
``ProgrammableConstraint`` takes SDV's own path.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Constraint classes enforced while decoding (by ``sdv.cag`` class name).
DECODED = ('Inequality', 'Range', 'FixedCombinations', 'OneHotEncoding', 'FixedIncrements')

MAX_MULTIPLES = 2000
"""Most multiples of a ``FixedIncrements`` increment listed as the column's value set; a wider
range keeps the multiples seen in training (the column then draws no unseen multiple)."""


@dataclass(frozen=True)
class Allowed:
    """The values a dependent column may take: a value set or an inclusive range.

    Attributes:
        kind (str): ``'values'`` or ``'range'``.
        args (tuple): ``(values,)`` with a tuple of values, or ``(low, high)`` (``None``
            leaves a side open).
    """

    kind: str
    args: tuple

    def fragment(self, codec):
        """The dependent codec's automaton of the allowed values.

        Raises:
            ValueError: no value of the column is allowed.
        """
        if self.kind == 'values':
            return codec.values_fragment(list(self.args[0]))
        return codec.range_fragment(*self.args, seen_only=True)


def decoded(constraint):
    """Whether ``constraint`` is enforced while decoding."""
    return type(constraint).__name__ in DECODED


def _step(data, column):
    """Half the smallest step between distinct values (to turn ``>`` into ``>=``)."""
    values = np.unique(pd.to_numeric(data[column], errors='coerce').dropna())
    gaps = np.diff(values)
    return float(gaps[gaps > 0].min()) / 2 if (gaps > 0).any() else 0.5


def _inequality_rules(data, low, high, strict):
    """``low = x`` allows ``high`` in ``[x, inf)``; ``high = y`` allows ``low`` in ``(-inf, y]``."""
    numeric = pd.api.types.is_numeric_dtype(data[low]) and pd.api.types.is_numeric_dtype(
        data[high])
    up = _step(data, high) if strict and numeric else 0.0
    down = _step(data, low) if strict and numeric else 0.0
    lows = data[low].dropna().unique()
    highs = data[high].dropna().unique()
    return [
        (low, high, {x: Allowed('range', (x + up if up else x, None)) for x in lows}),
        (high, low, {y: Allowed('range', (None, y - down if down else y)) for y in highs}),
    ]


def _combination_rules(data, columns):
    """Every ordered pair of ``columns``: a value allows the other's values seen with it."""
    rules = []
    for first in columns:
        for second in columns:
            if first == second:
                continue
            seen = data[[first, second]].drop_duplicates()
            allowed = {}
            for value, group in seen.groupby(first, dropna=False, sort=False):
                allowed[value] = Allowed('values', (tuple(group[second].tolist()),))
            rules.append((first, second, allowed))
    return rules


def _one_hot_rules(data, columns):
    """Every ordered pair of ``columns``: a 1 allows only 0 in the other column."""
    seen = {column: data[column].dropna().unique() for column in columns}
    ones = {column: [value for value in seen[column] if value == 1] for column in columns}
    zeros = {column: tuple(value for value in seen[column] if value == 0) for column in columns}
    return [(first, second, {one: Allowed('values', (zeros[second],)) for one in ones[first]})
            for first in columns for second in columns
            if first != second and ones[first] and zeros[second]]


def _multiples(codec, values, increment):
    """The multiples of ``increment`` the column may take: every one in the training range
    that the codec writes exactly (at most ``MAX_MULTIPLES``), else those seen in training;
    ``None`` when the codec keeps a set of seen values anyway (categorical)."""
    try:
        codec.range_fragment(None, None)
    except ValueError:
        return None  # not numerical or datetime: only training values come out
    present = pd.to_numeric(values, errors='coerce').dropna()
    if present.empty:
        return None
    low, high = np.ceil(present.min() / increment), np.floor(present.max() / increment)
    if high - low + 1 <= MAX_MULTIPLES:
        candidates = pd.Series(np.arange(low, high + 1) * increment).astype(present.dtype)
        exact = codec.admissible(candidates)
        if exact.any():
            return candidates[exact].tolist()
    return sorted(present.unique().tolist())


def constraint_restrictions(constraints, data, codecs):
    """The value set of each column a constraint restricts on every row.

    ``FixedIncrements``: the multiples of the increment. ``OneHotEncoding``: 0 and 1 (written as
    one token each, so that the pairwise rules of ``constraint_rules`` see every value; a
    numerical codec could otherwise spell them with digits).

    Args:
        constraints (list): ``sdv.cag`` constraints; others are skipped.
        data (pandas.DataFrame): the training rows (raw values).
        codecs (dict[str, ColumnCodec]): the fitted codecs by column.

    Returns:
        dict[str, list]: ``{column: values}`` (missing values excluded; a nullable column may
        still be missing).
    """
    restrictions = {}
    for constraint in constraints:
        name = type(constraint).__name__
        if name == 'FixedIncrements' and constraint.column_name in codecs:
            column = constraint.column_name
            values = _multiples(codecs[column], data[column], constraint.increment_value)
            if values is not None:
                restrictions[column] = values
        elif name == 'OneHotEncoding':
            for column in constraint._column_names:
                if column in codecs:
                    restrictions[column] = [value for value in data[column].dropna().unique()
                                            .tolist() if value in (0, 1)]
    return restrictions


def constraint_precedence(constraints):
    """``(before, after)`` column pairs that put each constraint's determining column first.

    ``Inequality``: low before high; ``Range``: low, middle, high; ``FixedCombinations``:
    the listed order. With these first, every dependent column is restricted by one rule.

    Returns:
        list[tuple[str, str]]
    """
    edges = []
    for constraint in constraints:
        name = type(constraint).__name__
        if name == 'Inequality':
            edges.append((constraint._low_column_name, constraint._high_column_name))
        elif name == 'Range':
            edges += [(constraint._low_column_name, constraint._middle_column_name),
                      (constraint._middle_column_name, constraint._high_column_name)]
        elif name == 'FixedCombinations':
            edges += list(zip(constraint.column_names, constraint.column_names[1:]))
    return edges


def constraint_rules(constraints, data):
    """The decoding rules of the constraints enforced while decoding.

    Args:
        constraints (list): ``sdv.cag`` constraints; those not in ``DECODED`` are skipped.
        data (pandas.DataFrame): the training rows (raw values).

    Returns:
        list[tuple[str, str, dict]]: ``(determinant, dependent, {value: Allowed})``, the format
        of ``dependency_mappings`` with ``Allowed`` targets.
    """
    rules = []
    for constraint in constraints:
        name = type(constraint).__name__
        if name == 'Inequality':
            if constraint._low_column_name in data and constraint._high_column_name in data:
                rules += _inequality_rules(data, constraint._low_column_name,
                                           constraint._high_column_name,
                                           constraint.strict_boundaries)
        elif name == 'Range':
            low, middle, high = (constraint._low_column_name, constraint._middle_column_name,
                                 constraint._high_column_name)
            if {low, middle, high} <= set(data.columns):
                rules += _inequality_rules(data, low, middle, constraint.strict_boundaries)
                rules += _inequality_rules(data, middle, high, constraint.strict_boundaries)
        elif name == 'FixedCombinations':
            columns = [c for c in constraint.column_names if c in data]
            if len(columns) == len(constraint.column_names):
                rules += _combination_rules(data, columns)
        elif name == 'OneHotEncoding':
            columns = [c for c in constraint._column_names if c in data]
            if len(columns) == len(constraint._column_names):
                rules += _one_hot_rules(data, columns)
    return rules
