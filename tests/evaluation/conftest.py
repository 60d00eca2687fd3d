"""A small table with known dependences, shared by the metric tests."""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    data = pd.DataFrame({
        'x': x, 'y': 2 * x + rng.normal(scale=0.3, size=600),
        'z': rng.uniform(size=600),
        'c': np.where(x > 0, 'high', 'low'),
        'label': np.where(x + rng.normal(scale=0.5, size=600) > 0, 'yes', 'no'),
    })
    metadata = Metadata.detect_from_dataframes({'t': data})
    columns = metadata.tables['t'].columns
    assert columns['c']['sdtype'] == columns['label']['sdtype'] == 'categorical'
    return data, metadata


def independently_permuted(data, seed=1):
    """Every column permuted independently: same marginals, no dependence."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(data[c].to_numpy()) for c in data})
