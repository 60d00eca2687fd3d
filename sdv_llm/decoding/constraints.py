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

A determinant value written with several tokens (a binned number) is not indexed, so the
dependent is free there and the row is checked afterwards. Other constraints
(``FixedIncrements``, ``OneHotEncoding``, ``ProgrammableConstraint``) take SDV's own path.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Constraint classes enforced while decoding (by ``sdv.cag`` class name).
DECODED = ('Inequality', 'Range', 'FixedCombinations')


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
    return rules
