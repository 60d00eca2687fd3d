"""Foreign keys: the conditioning parent, the order of tables, keys for other parents."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError

from sdv_llm.relational.keys import (
    Relationship,
    assign_keys,
    children_counts,
    choose_conditioning,
    expected_children,
    topological_order,
)


def _relationship(parent, child, parent_keys, foreign_keys):
    return Relationship(parent, 'id', child, f'{parent}_id').fit(parent_keys, foreign_keys)


def test_relationship_counts_children_per_parent_and_missing_keys():
    relationship = _relationship('a', 'b', [1, 2, 3], [1, 1, 3, np.nan])
    assert list(relationship.counts) == [2, 0, 1]
    assert relationship.null_fraction == 0.25


def test_the_parent_with_most_children_per_row_conditions_unless_the_user_chooses():
    account = _relationship('account', 'disp', range(4), [0, 0, 1, 2, 3])
    client = _relationship('client', 'disp', range(5), range(5))
    assert choose_conditioning([client, account])['disp'] is account
    assert choose_conditioning([client, account], {'disp': 'client'})['disp'] is client
    album = _relationship('album', 'track', range(3), [0] * 10 + [1] * 10 + [2] * 10)
    media = _relationship('media', 'track', range(1), [0] * 30)
    assert choose_conditioning([album, media], max_children=16)['track'] is album
    assert choose_conditioning([media], max_children=16)['track'] is media
    with pytest.raises(SynthesizerInputError, match="'loan' is not a parent of table 'disp'"):
        choose_conditioning([client, account], {'disp': 'loan'})


def test_parents_come_before_children_and_cycles_are_named():
    relationships = [_relationship('b', 'c', [1], [1]), _relationship('a', 'b', [1], [1])]
    assert topological_order(['c', 'b', 'a'], relationships) == ['a', 'b', 'c']
    with pytest.raises(SynthesizerInputError, match='cycle'):
        topological_order(['a', 'b'], [_relationship('a', 'b', [1], [1]),
                                       _relationship('b', 'a', [1], [1])])


def test_assigned_keys_are_sampled_parent_keys_with_the_real_children_per_parent():
    rng = np.random.default_rng(0)
    parents = np.arange(1000, 3000)
    keys = assign_keys(parents, np.array([1] * 10), 0.0, 2000, rng)
    assert np.isin(keys, parents).all() and len(set(keys)) == 2000  # one child each (1:1)
    keys = assign_keys(parents, np.array([0, 0, 3]), 0.1, 2000, rng)
    assert keys.dtype == np.float64  # integer keys with blanks, as pandas reads them
    assert assign_keys(parents.astype(str), np.array([1]), 0.5, 10, rng).dtype == object
    present = keys[~pd.isna(keys)]
    assert np.isin(present.astype(int), parents).all()
    assert abs(len(present) / 2000 - 0.9) < 0.03
    per_parent = np.bincount(present.astype(int) - 1000)
    assert set(per_parent[per_parent > 0]) <= {1, 2, 3}


def test_assigned_keys_stay_inside_the_real_children_bounds():
    rng = np.random.default_rng(0)
    parents = np.arange(500)
    keys = assign_keys(parents, np.ones(300, dtype=np.int64), 0.0, 500, rng)
    assert sorted(keys) == list(parents)  # every real parent had exactly one child
    counts = np.array([0, 1, 2, 2, 3])
    keys = assign_keys(parents, counts, 0.0, 900, rng)
    per_parent = np.bincount(keys.astype(np.int64), minlength=500)
    assert len(keys) == 900 and per_parent.max() <= 3
    # Real parents all had a child: a bootstrap of about 2 each (1,000) is cut to 900 rows
    # without taking any parent below the real minimum of 1.
    keys = assign_keys(parents, np.array([1, 2, 2, 3]), 0.0, 900, rng)
    per_parent = np.bincount(keys.astype(np.int64), minlength=500)
    assert len(keys) == 900 and per_parent.min() == 1 and per_parent.max() <= 3


def test_children_counts_move_the_draws_inside_the_real_range_to_the_total():
    rng = np.random.default_rng(0)
    real = np.array([2, 3, 5, 9])
    draws = np.array([0, 4.4, 12, np.nan, 6, 7])  # rounded; NaN read as 0; clipped to [2, 9]
    counts = children_counts(draws, real, 30, rng)
    assert counts.sum() == 30 and counts.min() >= 2 and counts.max() <= 9
    assert list(children_counts(draws, real, 12, rng)) == [2] * 6  # the floor, as close as can be
    assert list(children_counts(np.array([3, 5]), real, 8, rng)) == [3, 5]  # already there
    assert expected_children(real, 8) == 38 and expected_children(np.array([]), 3) == 0


def test_assigned_keys_follow_the_sampled_counts_of_each_parent():
    rng = np.random.default_rng(0)
    parents = np.array([10, 20, 30])
    keys = assign_keys(parents, np.array([0, 1, 2, 3]), 0.0, 5, rng, draws=np.array([3, 0, 2]))
    assert sorted(keys) == [10, 10, 10, 30, 30]


def _levels_order(tables, relationships):
    """The hand-written order networkx replaced: every table whose parents are placed, level
    by level, in metadata order."""
    parents = {table: {r.parent for r in relationships if r.child == table} for table in tables}
    order = []
    while len(order) < len(tables):
        ready = [t for t in tables if t not in order and parents[t] <= set(order)]
        assert ready
        order.extend(ready)
    return order


def _dataset_schemas():
    """(tables, relationships) of the multi-table test datasets and of ../shared/data's."""
    import json
    from pathlib import Path

    from tests.multi_table.conftest import one_to_one, three_levels, two_tables

    schemas = []
    for build in (two_tables, three_levels, one_to_one):
        metadata = build()[1]
        schemas.append((list(metadata.tables), metadata.relationships))
    for name in ('berka', 'chinook'):
        path = Path(__file__).parents[3] / 'shared' / 'data' / name / 'relationships.json'
        if path.exists():
            spec = json.loads(path.read_text())
            schemas.append((list(spec['primary_keys']), spec['relationships']))
    return schemas


def test_topological_order_is_the_former_level_order():
    """networkx's generations, each in metadata order, give the order of the former loop on
    the test datasets and on random DAGs in shuffled metadata order."""
    cases = []
    for tables, relations in _dataset_schemas():
        relationships = [Relationship(r['parent_table_name'], r['parent_primary_key'],
                                      r['child_table_name'], r['child_foreign_key'])
                         for r in relations if r['parent_table_name'] != r['child_table_name']]
        cases.append((tables, relationships))
    rng = np.random.default_rng(0)
    for _ in range(200):
        size = int(rng.integers(1, 9))
        names = [f't{i}' for i in range(size)]
        edges = [(names[i], names[j]) for i in range(size) for j in range(i + 1, size)
                 if rng.random() < 0.3]
        cases.append((list(rng.permutation(names)),
                      [Relationship(p, 'id', c, f'{p}_id') for p, c in edges]))
    assert len(cases) > 200
    for tables, relationships in cases:
        assert topological_order(tables, relationships) == _levels_order(tables, relationships)
