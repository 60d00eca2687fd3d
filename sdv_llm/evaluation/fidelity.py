"""Fidelity of a synthetic table: marginal KL divergence and correlation/association distances.

Every function takes the real and synthetic tables as ``pandas.DataFrame`` with the same
columns and an SDV ``Metadata``; only the modelled columns are compared
(``sdv_llm.evaluation.columns``).
"""

import numpy as np
import pandas as pd
from scipy.stats import entropy
from scipy.stats.contingency import association

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    as_numbers,
    modelled_columns,
)


def kl_divergence(real, synthetic, sdtype='categorical', bins=20, binning='quantile',
                  smoothing=1e-6):
    """KL divergence ``KL(real || synthetic)`` of one column's marginal distribution, in nats.

    Numerical and datetime columns are binned on the REAL values: ``bins`` quantile bins
    (``binning='quantile'``, duplicate edges merged, so discrete columns get one bin per value)
    or ``bins`` equal-width bins between the real minimum and maximum (``'uniform'``); the
    outer bins extend to infinity and missing values form a bin of their own. Other columns are
    compared value by value (missing values are a value). Both histograms get ``smoothing``
    added to every probability and are renormalised, so a value the synthetic data never
    produces costs a finite amount.

    Args:
        real (pandas.Series): the real column.
        synthetic (pandas.Series): the synthetic column.
        sdtype (str): the column's sdtype.
        bins (int): number of bins of numerical columns.
        binning (str): ``'quantile'`` or ``'uniform'``.
        smoothing (float): probability added to every bin.

    Returns:
        float: ``>= 0``; ``0.0`` when both histograms are equal.

    Raises:
        ValueError: on an unknown ``binning``.
    """
    if sdtype in NUMERIC_SDTYPES:
        real_values, synthetic_values = as_numbers(real, sdtype), as_numbers(synthetic, sdtype)
        finite = real_values[~np.isnan(real_values)]
        if binning == 'quantile':
            edges = np.quantile(finite, np.linspace(0, 1, bins + 1)) if len(finite) else []
        elif binning == 'uniform':
            edges = np.linspace(finite.min(), finite.max(), bins + 1) if len(finite) else []
        else:
            raise ValueError(f"binning must be 'quantile' or 'uniform', got {binning!r}.")
        inner = np.unique(edges)[1:-1] if len(edges) else np.array([])
        n_bins = len(inner) + 2   # the last bin holds missing values

        def histogram(values):
            index = np.searchsorted(inner, values, side='right')
            index[np.isnan(values)] = n_bins - 1
            return np.bincount(index, minlength=n_bins).astype(float)

        p, q = histogram(real_values), histogram(synthetic_values)
    else:
        real_labels, synthetic_labels = as_labels(real), as_labels(synthetic)
        categories = pd.Index(real_labels.unique()).union(pd.Index(synthetic_labels.unique()))
        p = real_labels.value_counts().reindex(categories, fill_value=0).to_numpy(dtype=float)
        q = synthetic_labels.value_counts().reindex(categories, fill_value=0).to_numpy(dtype=float)
    p = p / max(p.sum(), 1) + smoothing
    q = q / max(q.sum(), 1) + smoothing
    return float(entropy(p / p.sum(), q / q.sum()))


def mean_kl_divergence(real, synthetic, metadata, table_name=None, **kwargs):
    """Mean of :func:`kl_divergence` over the modelled columns.

    Args:
        real (pandas.DataFrame): the real table.
        synthetic (pandas.DataFrame): the synthetic table.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.
        **kwargs: passed to :func:`kl_divergence` (``bins``, ``binning``, ``smoothing``).

    Returns:
        float: mean KL divergence in nats; ``nan`` when no column is modelled.
    """
    values = [kl_divergence(real[c], synthetic[c], sdtype, **kwargs)
              for c, sdtype in modelled_columns(metadata, table_name).items()
              if c in real and c in synthetic]
    return float(np.mean(values)) if values else float('nan')


def correlation_frobenius(real, synthetic, metadata, table_name=None):
    """Frobenius norm of the difference of the Pearson correlation matrices.

    Only numerical and datetime columns take part (pairwise-complete observations; an
    undefined correlation, e.g. of a constant column, counts as 0). For a measure that also
    covers categorical columns see :func:`association_frobenius`.

    Args:
        real (pandas.DataFrame): the real table.
        synthetic (pandas.DataFrame): the synthetic table.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.

    Returns:
        float: ``||C_real - C_synthetic||_F`` in ``[0, 2k]`` for ``k`` columns; ``nan`` with
        fewer than two numerical columns.
    """
    columns = [c for c, s in modelled_columns(metadata, table_name).items()
               if s in NUMERIC_SDTYPES and c in real and c in synthetic]
    if len(columns) < 2:
        return float('nan')

    def matrix(table):
        numbers = pd.DataFrame({c: as_numbers(table[c], sdtype) for c, sdtype in
                                modelled_columns(metadata, table_name).items() if c in columns})
        return numbers.corr(method='pearson').fillna(0.0).to_numpy()

    return float(np.linalg.norm(matrix(real) - matrix(synthetic), 'fro'))


def _correlation_ratio(categories, numbers):
    """Correlation ratio eta of a numerical variable given a categorical one, in [0, 1]."""
    frame = pd.DataFrame({'c': categories.to_numpy(), 'x': numbers}).dropna()
    if len(frame) < 2:
        return 0.0
    total = ((frame['x'] - frame['x'].mean()) ** 2).sum()
    if total == 0:
        return 0.0
    groups = frame.groupby('c')['x'].agg(['mean', 'count'])
    between = (groups['count'] * (groups['mean'] - frame['x'].mean()) ** 2).sum()
    return float(np.sqrt(between / total))


def _cramers_v(a, b):
    table = pd.crosstab(a, b).to_numpy()
    if min(table.shape) < 2:
        return 0.0
    return float(association(table, method='cramer'))


def association_matrix(table, sdtypes):
    """Association matrix of mixed columns.

    Numerical/numerical: Pearson correlation (signed, in [-1, 1]); categorical/categorical:
    Cramer's V (``scipy.stats.contingency.association``, in [0, 1]); numerical/categorical:
    the correlation ratio eta (in [0, 1]). Missing categorical values are a category;
    missing numbers are dropped pairwise. The diagonal is 1.

    Args:
        table (pandas.DataFrame): the table.
        sdtypes (dict[str, str]): sdtype by column, the columns to use.

    Returns:
        numpy.ndarray: ``k x k`` symmetric matrix for the ``k`` columns of ``sdtypes``.
    """
    columns = list(sdtypes)
    numeric = {c: as_numbers(table[c], s) for c, s in sdtypes.items() if s in NUMERIC_SDTYPES}
    labels = {c: as_labels(table[c]) for c in columns if c not in numeric}
    result = np.eye(len(columns))
    for i, a in enumerate(columns):
        for j in range(i + 1, len(columns)):
            b = columns[j]
            if a in numeric and b in numeric:
                value = pd.Series(numeric[a]).corr(pd.Series(numeric[b]))
            elif a in numeric:
                value = _correlation_ratio(labels[b], numeric[a])
            elif b in numeric:
                value = _correlation_ratio(labels[a], numeric[b])
            else:
                value = _cramers_v(labels[a], labels[b])
            result[i, j] = result[j, i] = 0.0 if pd.isna(value) else value
    return result


def association_frobenius(real, synthetic, metadata, table_name=None):
    """Frobenius norm of the difference of the association matrices over all modelled columns.

    See :func:`association_matrix` for the measure of each pair.

    Args:
        real (pandas.DataFrame): the real table.
        synthetic (pandas.DataFrame): the synthetic table.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``.

    Returns:
        float: ``>= 0``; ``nan`` with fewer than two modelled columns.
    """
    sdtypes = {c: s for c, s in modelled_columns(metadata, table_name).items()
               if c in real and c in synthetic}
    if len(sdtypes) < 2:
        return float('nan')
    difference = association_matrix(real, sdtypes) - association_matrix(synthetic, sdtypes)
    return float(np.linalg.norm(difference, 'fro'))
