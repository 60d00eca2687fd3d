"""Keys between tables: which parent a child is generated from, and valid foreign keys for the rest.

A child table is generated from ONE conditioning parent (its rows are that parent's children,
see ``ChildrenLM``). Every other foreign key of the child, and a self-reference, is assigned
among the sampled keys of its parent so that the number of children per parent follows the
real distribution (``assign_keys``); it does not depend on the child row's values.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sdv.errors import SynthesizerInputError


@dataclass
class Relationship:
    """One foreign key and what the training data says about it.

    Attributes:
        parent (str), parent_key (str), child (str), foreign_key (str): the relationship.
        counts (numpy.ndarray): int64 children of each real parent row (zeros included).
        null_fraction (float): share of child rows whose foreign key is missing (or refers to
            no parent row).
    """

    parent: str
    parent_key: str
    child: str
    foreign_key: str
    counts: np.ndarray = None
    null_fraction: float = 0.0

    @property
    def count_column(self):
        """The parent's column of its number of children in this relationship (HMA's name)."""
        return f'__{self.child}__{self.foreign_key}__num_rows'

    @property
    def children_per_parent(self):
        """Mean children per parent row (0.0 for a parent table without rows)."""
        return float(self.counts.mean()) if self.counts is not None and len(self.counts) else 0.0

    def fit(self, parent_keys, foreign_keys):
        """Count the children of each parent and the missing foreign keys.

        Args:
            parent_keys (array-like): the parent's primary key values.
            foreign_keys (array-like): the child's foreign key values (NaN for missing).

        Returns:
            Relationship: ``self``.
        """
        parent_keys = pd.Index(parent_keys)
        position = parent_keys.get_indexer(pd.Series(foreign_keys).to_numpy())
        found = position >= 0
        self.counts = np.bincount(position[found], minlength=len(parent_keys)).astype(np.int64)
        self.null_fraction = float(1 - found.mean()) if len(position) else 0.0
        return self

    def __str__(self):
        return f'{self.parent}.{self.parent_key} -> {self.child}.{self.foreign_key}'


def topological_order(tables, relationships):
    """Tables ordered so that every parent comes before its children.

    The roots first, then the tables whose parents are all placed, and so on
    (``networkx.topological_generations``); tables of one generation keep the metadata order.

    Args:
        tables (list[str]): table names, in metadata order (kept among equals).
        relationships (list[Relationship]): without self-references.

    Returns:
        list[str]

    Raises:
        SynthesizerInputError: the relationships have a cycle (named).
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(tables)
    graph.add_edges_from((r.parent, r.child) for r in relationships)
    position = {table: index for index, table in enumerate(tables)}
    try:
        # Generation by generation (roots, their children, ...), each in metadata order.
        return [table for generation in nx.topological_generations(graph)
                for table in sorted(generation, key=position.__getitem__)]
    except nx.NetworkXUnfeasible:
        cycle = sorted({table for edge in nx.find_cycle(graph) for table in edge},
                       key=position.__getitem__)
        raise SynthesizerInputError(
            f'The relationships between {cycle} form a cycle; remove one of them from the '
            'metadata.'
        ) from None


def choose_conditioning(relationships, choice=None, max_children=32, data_free=False):
    """The relationship each child table is generated through.

    Rule: the user's choice (``{child: parent}``) when given; otherwise the parent with the
    most child rows per parent row among the parents with at most ``max_children`` per row
    on average (the relationship whose children carry most of the structure and still fit a
    few sequences: berka ``disp`` is generated per ``account`` (1.19 per account), not per
    ``client`` (1.0); chinook ``tracks`` per album (10), not per media type (700)); when every
    parent has more, the one with the fewest. Ties go to the first relationship in metadata
    order; with several foreign keys to the chosen parent, the first one. With ``data_free``
    (differential privacy) the counts are not read: the first relationship in metadata order.

    Args:
        relationships (list[Relationship]): fitted, without self-references.
        choice (dict[str, str] or None): conditioning parent table by child table.
        max_children (int): children per sequence (see ``ChildrenLM``).
        data_free (bool): choose without the counts.

    Returns:
        dict[str, Relationship]: by child table.

    Raises:
        SynthesizerInputError: a choice names a table that is not a parent of the child.
    """
    choice = dict(choice or {})
    chosen = {}
    for child in dict.fromkeys(r.child for r in relationships):
        candidates = [r for r in relationships if r.child == child]
        if child in choice:
            named = [r for r in candidates if r.parent == choice[child]]
            if not named:
                raise SynthesizerInputError(
                    f"Table '{choice[child]}' is not a parent of table '{child}'; its parents "
                    f'are {sorted({r.parent for r in candidates})}.'
                )
            chosen[child] = named[0]
        elif data_free:
            chosen[child] = candidates[0]
        else:
            fitting = [r for r in candidates if r.children_per_parent <= max_children]
            chosen[child] = (max(fitting, key=lambda r: r.children_per_parent) if fitting
                             else min(candidates, key=lambda r: r.children_per_parent))
    unknown = sorted(set(choice) - set(chosen))
    if unknown:
        raise SynthesizerInputError(f'conditioning_parents names tables without a parent: '
                                    f'{unknown}.')
    return chosen


def key_dtype(dtype, missing):
    """The dtype of foreign keys of parent keys of ``dtype``: itself, or with missing keys
    float64 for numbers (as pandas reads integer keys with blanks) and object otherwise."""
    if not missing:
        return dtype
    return np.float64 if np.dtype(dtype).kind in 'iuf' else object


def children_counts(draws, counts, total, rng):
    """Children of each sampled parent: drawn counts moved inside the real range to a total.

    The draws (the parent model's sampled ``count_column``, or a bootstrap of the real
    counts) are clipped to the real minimum and maximum, then moved one child at a time
    (random parents) until they add up to ``total``, so no parent gets fewer or more children
    than any real parent had (as SDMetrics' cardinality boundary adherence checks) and the
    table size follows the scale.

    Args:
        draws (array-like): numbers ``(num_parents,)`` (rounded; missing read as 0).
        counts (numpy.ndarray): int children of each real parent row.
        total (int): the children wanted, at least 0.
        rng (numpy.random.Generator): random source.

    Returns:
        numpy.ndarray: int64 ``(len(draws),)``; the sum is ``total`` unless the real range
        cannot reach it, then as close as it allows.
    """
    draws = pd.to_numeric(pd.Series(np.asarray(draws)), errors='coerce').fillna(0)
    draws = np.rint(draws.to_numpy(dtype=float)).astype(np.int64)
    if not len(counts):
        return _fit_total(draws, total, 0, max(total, 0), rng)
    return _fit_total(draws, total, int(counts.min()), int(counts.max()), rng)


def expected_children(counts, num_parents):
    """Children of ``num_parents`` sampled parents at the real mean per parent (rounded)."""
    return round(float(np.sum(counts)) * num_parents / len(counts)) if len(counts) else 0


def assign_keys(parent_keys, counts, null_fraction, num_rows, rng, draws=None):
    """Foreign keys for ``num_rows`` child rows, every one a sampled parent key (or missing).

    Each sampled parent gets a number of children, from ``draws`` (the parent model's
    sampled count) or, without them, a bootstrap of the real counts; ``children_counts``
    then moves them inside the real minimum and maximum until they add up to the rows that
    need a key. Only when the real range cannot reach that total are the remaining keys drawn
    in proportion to the counts. The keys are repeated that often and shuffled. A share
    ``null_fraction`` of the rows gets a missing key.

    Args:
        parent_keys (numpy.ndarray): the sampled parent's primary keys.
        counts (numpy.ndarray): int children of each real parent row.
        null_fraction (float): share of missing keys.
        num_rows (int): child rows.
        rng (numpy.random.Generator): random source.
        draws (array-like or None): ``(len(parent_keys),)`` sampled children of each parent.

    Returns:
        numpy.ndarray: ``num_rows`` keys (with missing ones, float64 for numeric keys and
        object otherwise; see ``key_dtype``).

    Raises:
        ValueError: rows need a key and the parent has no sampled rows.
    """
    parent_keys = np.asarray(parent_keys)
    missing = rng.random(num_rows) < null_fraction if null_fraction > 0 else \
        np.zeros(num_rows, dtype=bool)
    needed = int((~missing).sum())
    keys = np.empty(num_rows, dtype=key_dtype(parent_keys.dtype, missing.any()))
    if missing.any():
        keys[missing] = np.nan
    if not needed:
        return keys
    if not len(parent_keys):
        raise ValueError('Cannot assign foreign keys: the parent table has no sampled rows.')
    if draws is None:
        draws = rng.choice(counts, size=len(parent_keys)) if len(counts) else \
            np.ones(len(parent_keys), dtype=np.int64)
    draws = children_counts(draws, counts, needed, rng)
    pool = np.repeat(parent_keys, draws)
    if len(pool) < needed:  # no parent can take more inside the real bounds
        weights = draws + 1e-9
        extra = rng.choice(parent_keys, size=needed - len(pool), p=weights / weights.sum())
        pool = np.concatenate([pool, extra])
    if len(pool) > needed:  # every parent is at the real minimum already
        pool = rng.choice(pool, size=needed, replace=False)
    keys[~missing] = rng.permutation(pool)
    return keys


def _fit_total(draws, total, low, high, rng):
    """Adjust per-parent counts by single steps inside ``[low, high]`` toward ``total``.

    Args:
        draws (numpy.ndarray): int counts per parent.
        total (int): the wanted sum.
        low, high (int): the bounds every count keeps.
        rng (numpy.random.Generator): picks which parents move.

    Returns:
        numpy.ndarray: int64 counts; their sum equals ``total`` when the bounds allow, else it
        is as close as they allow.
    """
    draws = np.clip(np.asarray(draws, dtype=np.int64), low, high)
    while True:
        gap = total - int(draws.sum())
        movable = np.flatnonzero(draws < high) if gap > 0 else np.flatnonzero(draws > low)
        if gap == 0 or not len(movable):
            return draws
        chosen = rng.choice(movable, size=min(abs(gap), len(movable)), replace=False)
        draws[chosen] += 1 if gap > 0 else -1
