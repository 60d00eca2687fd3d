"""Violation rate: synthetic rows that break a dependency of the real table."""

import numpy as np
import pandas as pd
import pytest

from sdv_llm.evaluation.dependencies import violation_rate
from sdv_llm.schema.dependencies import FunctionalDependency


@pytest.fixture
def table():
    state = np.random.default_rng(0).choice(['CA', 'NY', 'TX'], 600)
    code = pd.Series(state).map({'CA': 1, 'NY': 2, 'TX': 3}).to_numpy()
    return pd.DataFrame({'state': state, 'code': code})


def test_violation_rate(table):
    deps = [FunctionalDependency(('state',), 'code', 0.0)]
    assert violation_rate(table, table, deps) == 0.0
    broken = table.copy()
    broken.loc[:59, 'code'] = 7
    assert violation_rate(table, broken, deps) == pytest.approx(0.1)
    unseen = table.assign(state='ZZ')
    assert violation_rate(table, unseen, deps) == 0.0
