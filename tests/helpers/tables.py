"""Small synthetic tables shared by the tests of the training strategies."""

import numpy as np
import pandas as pd


def linear_table(num_rows=300, seed=0, p=None):
    """Rows ``x ~ N(50, 10)``, ``y = 2x + N(0, 3)`` (one decimal) and a category ``kind``.

    Args:
        num_rows (int): rows.
        seed (int): numpy seed.
        p (list[float] or None): the shares of ``kind`` 'a', 'b', 'c' (default equal).

    Returns:
        pandas.DataFrame: columns ``x``, ``y`` (float64) and ``kind`` (object).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, num_rows).round(1)
    return pd.DataFrame({'x': x, 'y': (2 * x + rng.normal(0, 3, num_rows)).round(1),
                         'kind': rng.choice(['a', 'b', 'c'], num_rows, p=p).astype(object)})
