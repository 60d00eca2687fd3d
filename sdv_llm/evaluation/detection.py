"""Detection: how well a classifier tells synthetic rows from real ones (C2ST)."""

import numpy as np

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    modelled_columns,
    table_metadata_dict,
)


def detection_score(real, synthetic, metadata, table_name=None, max_rows=5000, seed=0):
    """SDMetrics ``LogisticDetection`` (C2ST with logistic regression) on the modelled columns.

    Both tables are subsampled (seeded) to at most ``max_rows`` rows for speed. Missing
    values of non-numerical columns become the category ``'<NA>'``. SDMetrics' encoder rejects
    categories absent from the real rows, so such synthetic values (rare categories missed by
    the subsample, or invented ones) are replaced by the real column's most frequent value. The metric's cross-validation shuffles with numpy's global state,
    which is seeded here with ``seed``.

    Args:
        real (pandas.DataFrame): the real table.
        synthetic (pandas.DataFrame): the synthetic table.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        max_rows (int): most rows of each table used.
        seed (int): seed of the subsamples.

    Returns:
        float: ``1 - (2 * max(AUC, 0.5) - 1)`` of the cross-validated classifier: 1.0 when
        it cannot tell the tables apart, 0.0 when it always can.
    """
    from sdmetrics.single_table import LogisticDetection

    columns = [c for c in modelled_columns(metadata, table_name) if c in synthetic]
    real = real[columns].sample(min(len(real), max_rows), random_state=seed)
    synthetic = synthetic[columns].sample(min(len(synthetic), max_rows), random_state=seed)
    real, synthetic = real.copy(), synthetic.copy()
    for column, sdtype in modelled_columns(metadata, table_name).items():
        if column in columns and sdtype not in NUMERIC_SDTYPES:
            real[column] = as_labels(real[column])
            synthetic[column] = as_labels(synthetic[column])
            unseen = ~synthetic[column].isin(set(real[column]))
            synthetic.loc[unseen, column] = real[column].mode().iloc[0]
    np.random.seed(seed)
    return float(LogisticDetection.compute(
        real.reset_index(drop=True), synthetic.reset_index(drop=True),
        table_metadata_dict(metadata, table_name, columns)))
