"""Distance to closest record: copies of train against fresh rows."""

import numpy as np
import pandas as pd

from sdv_llm.evaluation.privacy import dcr_overfitting_protection, dcr_share


def test_dcr_share_of_copies_is_one_and_of_new_rows_about_half(table):
    data, metadata = table
    train, holdout = data.iloc[:300], data.iloc[300:]
    assert dcr_share(train, train.copy(), holdout, metadata) == 1.0
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    fresh = pd.DataFrame({'x': x, 'y': 2 * x + rng.normal(scale=0.3, size=300),
                          'z': rng.uniform(size=300), 'c': np.where(x > 0, 'high', 'low'),
                          'label': np.where(x > 0, 'yes', 'no')})
    assert 0.35 < dcr_share(train, fresh, holdout, metadata) < 0.65
    protection = dcr_overfitting_protection(train, train.copy(), holdout, metadata)
    assert protection['dcr_closer_to_training'] > 0.9
    assert protection['dcr_overfitting_protection'] < 0.2
