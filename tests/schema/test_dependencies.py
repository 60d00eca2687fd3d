"""Functional dependencies: discovery, g3 error, the order they imply."""

import numpy as np
import pandas as pd
import pytest

from sdv_llm.schema.dependencies import (
    FunctionalDependency,
    dependency_order,
    discover_dependencies,
    g3_error,
)


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    state = rng.choice(['CA', 'NY', 'TX'], 600)
    city = np.where(state == 'CA', rng.choice(['LA', 'SF'], 600),
                    np.where(state == 'NY', 'NYC', rng.choice(['Austin', 'Dallas'], 600)))
    code = pd.Series(state).map({'CA': 1, 'NY': 2, 'TX': 3}).to_numpy()
    noisy = code.copy()
    noisy[:3] = 9  # 3 of 600 rows break code -> noisy
    return pd.DataFrame({'city': city, 'id': np.arange(600), 'state': state, 'code': code,
                         'noisy': noisy, 'flag': rng.integers(0, 2, 600)})


def test_exact_and_approximate_dependencies(table):
    exact = discover_dependencies(table)
    found = {(fd.lhs, fd.rhs) for fd in exact}
    assert (('city',), 'state') in found and (('state',), 'code') in found
    assert (('code',), 'state') in found
    assert not any(fd.rhs == 'city' for fd in exact)  # state does not determine city
    assert not any('id' in fd.lhs for fd in exact)  # near-unique columns are no determinants
    assert not any(fd.rhs == 'noisy' for fd in exact)
    approximate = discover_dependencies(table, max_error=0.01)
    noisy = [fd for fd in approximate if fd.rhs == 'noisy' and fd.lhs == ('state',)]
    assert noisy and noisy[0].error == pytest.approx(3 / 600) and not noisy[0].exact


def test_pairs_are_minimal(table):
    table = table.assign(both=table['state'] + table['flag'].astype(str))
    found = discover_dependencies(table)
    pairs = [fd for fd in found if fd.rhs == 'both']
    assert {'state', 'flag'} in [set(fd.lhs) for fd in pairs]
    assert all(len(fd.lhs) == 2 and 'flag' in fd.lhs for fd in pairs)
    assert not any(fd.rhs == 'code' and 'state' in fd.lhs and len(fd.lhs) == 2 for fd in found)


def test_g3_error_by_hand():
    lhs = np.array([0, 0, 0, 1, 1])
    rhs = np.array([0, 0, 1, 2, 2])
    assert g3_error(lhs, 2, rhs) == pytest.approx(1 / 5)


def test_order_puts_determinants_first_and_condenses_cycles():
    deps = [FunctionalDependency(('b',), 'a', 0.0), FunctionalDependency(('c',), 'd', 0.0),
            FunctionalDependency(('d',), 'c', 0.0), FunctionalDependency(('d',), 'b', 0.0)]
    order = dependency_order(['a', 'b', 'c', 'd', 'e'], deps)
    assert order == ['c', 'd', 'b', 'a', 'e']
    assert dependency_order(['x', 'y'], []) == ['x', 'y']
