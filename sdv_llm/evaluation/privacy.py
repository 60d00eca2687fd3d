"""Privacy: distance to closest record (DCR) of synthetic rows, to train versus holdout rows,
and to train versus random rows (SDMetrics)."""

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import OneHotEncoder

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    as_numbers,
    checked_columns,
    modelled_columns,
    numpy_global_seed,
    table_metadata_dict,
)


def _encode(tables, sdtypes):
    """Encode tables so that the L1 distance is a sum of per-column distances.

    Numerical columns are scaled by the range of the first table (one full range = 1), with a
    missing-value indicator (a missing/present mismatch adds 1) and missing values at 0;
    categorical columns are one-hot encoded with weight 1/2 (a mismatch adds 1).
    """
    reference = tables[0]
    blocks = [[] for _ in tables]
    for column, sdtype in sdtypes.items():
        if sdtype in NUMERIC_SDTYPES:
            values = [as_numbers(t[column], sdtype) for t in tables]
            finite = values[0][~np.isnan(values[0])]
            low = finite.min() if len(finite) else 0.0
            span = (finite.max() - low) if len(finite) else 0.0
            span = span if span > 0 else 1.0
            for block, v in zip(blocks, values):
                block.append(np.nan_to_num((v - low) / span, nan=0.0)[:, None])
                block.append(np.isnan(v).astype(float)[:, None])
        else:
            encoder = OneHotEncoder(handle_unknown='ignore', sparse_output=False)
            encoder.fit(as_labels(reference[column]).to_frame())
            for block, table in zip(blocks, tables):
                block.append(0.5 * encoder.transform(as_labels(table[column]).to_frame()))
    return [np.hstack(block) if block else np.zeros((len(t), 0)) for block, t in
            zip(blocks, tables)]


def dcr_share(train, synthetic, holdout, metadata, table_name=None, max_rows=2000, seed=0):
    """Fraction of synthetic rows closer to a train row than to any holdout row.

    To make 0.5 the ideal value whatever the split, the larger of train and holdout is
    subsampled (seeded) to as many rows as the other has; for speed, holdout, train and synthetic rows are further
    subsampled to at most ``max_rows`` each. Distances are L1 on a common encoding of the
    modelled columns: numbers scaled by their real range plus a missing-value indicator,
    categories one-hot at weight 1/2, so each column contributes at most about 1 (the
    sdmetrics DCR convention, without its cap at 1 for out-of-range numbers). Ties count as
    closer to holdout (as in sdmetrics).

    A synthesizer that copies the train rows it is compared with scores 1.0; one that draws new
    rows from the same distribution scores about 0.5. With an 80/20 split, a synthesizer that
    copies the whole train set scores about ``0.25 + 0.75 * 0.5`` because only a quarter of
    train is in the compared half.

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        max_rows (int): most rows of each of the three tables used.
        seed (int): seed of the subsamples.

    Returns:
        float: the share, in [0, 1].
    """
    sdtypes = {c: s for c, s in modelled_columns(metadata, table_name).items()
               if c in synthetic}
    size = min(len(holdout), len(train), max_rows)
    train = train.sample(size, random_state=seed)
    holdout = holdout.sample(size, random_state=seed)
    synthetic = synthetic.sample(min(len(synthetic), max_rows), random_state=seed)
    reference = pd.concat([train, holdout], ignore_index=True)
    _, x_train, x_holdout, x_synthetic = _encode([reference, train, holdout, synthetic], sdtypes)
    distances = []
    for x in (x_train, x_holdout):
        neighbours = NearestNeighbors(n_neighbors=1, metric='manhattan').fit(x)
        distances.append(neighbours.kneighbors(x_synthetic)[0][:, 0])
    return float(np.mean(distances[0] < distances[1]))


def dcr_overfitting_protection(train, synthetic, holdout, metadata, table_name=None,
                               max_rows=1000, seed=0):
    """SDMetrics ``DCROverfittingProtection`` on the modelled columns.

    ``num_rows_subsample`` is ``min(max_rows, len(train), len(holdout), len(synthetic))`` (its
    pandas subsampling draws from numpy's global state, which is seeded here with ``seed``).

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        holdout (pandas.DataFrame): real rows it did not see.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        max_rows (int): most rows compared.
        seed (int): seed of the subsamples.

    Returns:
        dict: ``dcr_overfitting_protection`` (score in [0, 1], 1 = no more synthetic rows
        closer to train than to holdout than chance) and ``dcr_closer_to_training`` (the
        share it measured).
    """
    from sdmetrics.single_table import DCROverfittingProtection

    columns = [c for c in modelled_columns(metadata, table_name) if c in synthetic]
    size = min(max_rows, len(train), len(holdout), len(synthetic))
    np.random.seed(seed)
    result = DCROverfittingProtection.compute_breakdown(
        real_training_data=train[columns], synthetic_data=synthetic[columns],
        real_validation_data=holdout[columns],
        metadata=table_metadata_dict(metadata, table_name, columns), table_name=None,
        num_rows_subsample=size)
    return {'dcr_overfitting_protection': float(result['score']),
            'dcr_closer_to_training':
                float(result['synthetic_data_percentages']['closer_to_training'])}


def dcr_baseline_protection(train, synthetic, metadata, table_name=None, max_rows=1000,
                            seed=0):
    """SDMetrics ``DCRBaselineProtection`` on the modelled columns.

    The median distance from synthetic rows to their closest training row, over that of
    random rows (drawn uniformly within each real column's range or among its values) to
    theirs. ``num_rows_subsample`` is ``min(max_rows, len(train), len(synthetic))``; the
    random rows and subsamples are seeded with ``seed`` (SDMetrics' ``_seed`` on a subclass,
    numpy's global state restored after). SDMetrics subsamples the training and synthetic
    rows independently, so a copied row counts only when its original is drawn too: on Adult
    (5,000 training rows, 1,000 compared) returning the training rows scored 0.11 and fresh
    Adult rows 0.18; without subsampling copies score 0. Its distance is slow (about 4 s for
    1,000 by 1,000 rows on one CPU core).

    Args:
        train (pandas.DataFrame): real rows the synthesizer fitted on.
        synthetic (pandas.DataFrame): synthetic rows.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        max_rows (int): most rows compared.
        seed (int): seed of the random rows and subsamples.

    Returns:
        dict[str, float]: ``dcr_baseline_protection`` (score in [0, 1]: 1 when synthetic rows
        are at least as far from the training rows as random rows are, 0 when they copy
        them; ``nan`` when the random rows' median distance is 0), ``dcr_median_synthetic``
        and ``dcr_median_random`` (median distances, each column contributing at most 1 and
        the sum divided by the number of columns).

    Raises:
        TypeError, ValueError: a missing column or an empty table, named (see
            :func:`sdv_llm.evaluation.columns.checked_columns`).
    """
    from sdmetrics.single_table import DCRBaselineProtection

    columns = list(checked_columns(metadata, table_name, train=train, synthetic=synthetic))
    size = min(max_rows, len(train), len(synthetic))
    seeded = type('SeededDCRBaselineProtection', (DCRBaselineProtection,), {'_seed': seed})
    with numpy_global_seed(seed):
        result = seeded.compute_breakdown(
            real_data=train[columns].reset_index(drop=True),
            synthetic_data=synthetic[columns].reset_index(drop=True),
            metadata=table_metadata_dict(metadata, table_name, columns), table_name=None,
            num_rows_subsample=size)
    medians = result['median_DCR_to_real_data']
    return {'dcr_baseline_protection': float(result['score']),
            'dcr_median_synthetic': float(medians['synthetic_data']),
            'dcr_median_random': float(medians['random_data_baseline'])}
