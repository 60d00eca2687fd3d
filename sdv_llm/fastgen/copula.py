"""Dependencies between fields, which FASTGEN leaves out: a Gaussian copula and exact lookups.

Every ``'quantile'`` and ``'discrete'`` field, and the missing-value indicator of every field
with missing values, is driven by one latent standard normal. A value's normal score is
``ndtri(u)`` with ``u`` drawn uniformly inside the value's step of the empirical CDF (ties and
categories get an interval, as SDV's ``UniformEncoder``); the correlation of the scores is
the copula. ``dependencies='none'`` keeps the latent variables independent (FASTGEN as
published).

Exact one-column functional dependencies between discrete fields (``discover_dependencies``,
the ``fd`` order's search) become lookup tables: the dependent column is read from its
determinant's value instead of being sampled.
"""

import numpy as np
import pandas as pd
from scipy import special

from sdv_llm.fastgen.fields import discrete_bounds, field_numbers, python_scalar
from sdv_llm.schema.dependencies import discover_dependencies

NULL_SUFFIX = '#null'
_EPS = 1e-6


def _interval_scores(low, high, rng):
    """Normal scores of uniforms drawn in ``[low, high]`` (per row)."""
    u = low + rng.random(len(low)) * (high - low)
    return special.ndtri(np.clip(u, _EPS, 1 - _EPS))


def normal_scores(field, column_metadata, values, rng):
    """One field's normal scores, and those of its missing indicator (or ``None``).

    Args:
        field (dict): the fitted field (``'quantile'`` or ``'discrete'``; text fields only
            have an indicator).
        column_metadata (dict): the column's metadata.
        values (pandas.Series): the training values.
        rng (numpy.random.Generator): draws the positions inside ties.

    Returns:
        tuple: ``(scores or None, null_scores or None)``, float64 ``(n,)`` arrays.
    """
    missing = values.isna().to_numpy()
    null_scores = None
    if field['kind'] != 'discrete' and missing.any():
        rate = missing.mean()
        null_scores = _interval_scores(np.where(missing, 0.0, rate),
                                       np.where(missing, rate, 1.0), rng)
    if field['kind'] == 'quantile':
        numbers = field_numbers(column_metadata, values)[0].to_numpy()
        present = np.sort(numbers[~missing])
        low = np.searchsorted(present, numbers, 'left') / max(1, len(present))
        high = np.searchsorted(present, numbers, 'right') / max(1, len(present))
        scores = _interval_scores(low, high, rng)
        scores[missing] = rng.standard_normal(missing.sum())
        return scores, null_scores
    if field['kind'] == 'discrete':
        keys = pd.Index(field['values'], dtype=object)
        codes = keys.get_indexer(values.map(python_scalar).astype(object))
        cumulative = np.concatenate([[0.0], np.cumsum(field['probs'])])
        codes = np.where(codes < 0, 0, codes)
        return _interval_scores(cumulative[codes], cumulative[codes + 1], rng), null_scores
    return None, null_scores


def nearest_correlation(matrix):
    """The correlation matrix nearest to a symmetric one by eigenvalue clipping, unit diagonal."""
    matrix = np.nan_to_num((matrix + matrix.T) / 2.0)
    np.fill_diagonal(matrix, 1.0)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    fixed = eigenvectors @ np.diag(np.maximum(eigenvalues, 1e-6)) @ eigenvectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)


def find_lookups(data, fields):
    """Exact one-column functional dependencies between discrete fields, as lookup fields.

    A dependent column is never itself a determinant of a lookup, so one pass in any order
    fills every lookup.

    Returns:
        dict: ``{dependent column: lookup field}``.
    """
    discrete = [c for c, f in fields.items() if f['kind'] == 'discrete']
    if len(discrete) < 2 or len(data) == 0:
        return {}
    found = discover_dependencies(data[discrete], max_error=0.0, max_lhs_size=1)
    lookups, determinants = {}, set()
    for dependency in found:
        (lhs,), rhs = dependency.lhs, dependency.rhs
        if rhs in lookups or rhs in determinants or lhs in lookups:
            continue
        pairs = data[[lhs, rhs]].drop_duplicates(subset=[lhs])
        mode = fields[rhs]['values'][int(np.argmax(fields[rhs]['probs']))]
        lookups[rhs] = {'kind': 'lookup', 'determinant': lhs,
                        'keys': [python_scalar(v) for v in pairs[lhs]],
                        'values': [python_scalar(v) for v in pairs[rhs]], 'default': mode,
                        'sdtype': fields[rhs].get('sdtype')}
        determinants.add(lhs)
    return lookups


def _reorder(field, order):
    """Put a discrete field's categories in ``order`` (indices into its values)."""
    field['values'] = [field['values'][i] for i in order]
    field['probs'] = [field['probs'][i] for i in order]
    field['bounds'] = discrete_bounds(np.asarray(field['probs']))


def order_categories(data, columns_metadata, fields, rng):
    """Order unordered categories along the other fields' first principal component.

    A Gaussian copula couples a category with the others only through its position on the
    latent axis; categories ordered by the mean first principal component of the other
    fields' normal scores (each category's rows) make that position carry the association.
    Ordinals and numbers keep their natural order. Changes ``fields`` in place.
    """
    scored = {c: normal_scores(f, columns_metadata.get(c, {}), data[c], rng)[0]
              for c, f in fields.items() if f['kind'] in ('quantile', 'discrete')}
    for column, field in fields.items():
        if field['kind'] != 'discrete' or field.get('numeric') or len(field['values']) < 3 \
                or field.get('sdtype') == 'ordinal':
            continue
        others = [scores for c, scores in scored.items() if c != column]
        if not others:
            continue
        matrix = np.column_stack(others)
        matrix = matrix - matrix.mean(axis=0)
        _, _, vt = np.linalg.svd(matrix[:5000], full_matrices=False)
        component = matrix @ vt[0]
        keys = pd.Index(field['values'], dtype=object)
        codes = keys.get_indexer(data[column].map(python_scalar).astype(object))
        codes = np.where(codes < 0, 0, codes)
        sums = np.bincount(codes, weights=component, minlength=len(keys))
        counts = np.maximum(np.bincount(codes, minlength=len(keys)), 1)
        _reorder(field, np.argsort(sums / counts, kind='stable'))


def fit_latent(data, columns_metadata, fields, dependencies, rng):
    """Attach latent variables to the fields and fit their correlation.

    Args:
        data (pandas.DataFrame): the training table.
        columns_metadata (dict): ``{column: metadata}``.
        fields (dict): ``{column: field}``, changed in place (``latent``, ``null_latent``,
            ``null_bound``).
        dependencies (str): ``'copula'`` or ``'none'``.
        rng (numpy.random.Generator): draws positions inside ties.

    Returns:
        dict: the spec's ``latent`` entry: ``names`` and ``cholesky`` (``None`` for
        ``'none'``), and ``correlation`` (for display).
    """
    if dependencies != 'none':
        order_categories(data, columns_metadata, fields, rng)
    names, scores = [], []
    for column, field in fields.items():
        if field['kind'] in ('id', 'lookup'):
            continue
        values = data[column]
        score, null_score = normal_scores(field, columns_metadata.get(column, {}), values, rng)
        if score is not None:
            field['latent'] = column
            names.append(column)
            scores.append(score)
        if null_score is not None:
            field['null_latent'] = column + NULL_SUFFIX
            field['null_bound'] = float(special.ndtri(np.clip(values.isna().mean(), _EPS,
                                                              1 - _EPS)))
            names.append(column + NULL_SUFFIX)
            scores.append(null_score)
    if dependencies == 'none' or len(names) < 2 or len(data) < 3:
        return {'names': names, 'cholesky': None, 'correlation': None}
    with np.errstate(all='ignore'):
        correlation = nearest_correlation(np.corrcoef(np.vstack(scores)))
    cholesky = np.linalg.cholesky(correlation)
    return {'names': names, 'cholesky': cholesky.tolist(), 'correlation': correlation.tolist()}
