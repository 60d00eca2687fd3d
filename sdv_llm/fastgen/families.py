"""A numerical field's distribution: scipy.stats families against a smoothed empirical one.

Each candidate is fitted by maximum likelihood (``scipy.stats.<family>.fit``) and scored by the
Bayesian information criterion; the smoothed empirical quantile function competes as a
histogram density with as many parameters as it has bins. Whatever wins, the field is
written as a quantile function on a fixed grid of probabilities (knots), which the sampling
script evaluates with ``numpy.interp``: a parametric choice is tabulated from its ``ppf``.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Candidate families: name -> scipy.stats distribution. ``fit`` keyword arguments per family.
FAMILIES = {
    'normal': (stats.norm, {}),
    'lognormal': (stats.lognorm, {}),
    'exponential': (stats.expon, {}),
    'uniform': (stats.uniform, {}),
    'gamma': (stats.gamma, {}),
    'beta': (stats.beta, {}),
    'student_t': (stats.t, {}),
}

#: The empirical quantile function, written as a histogram density for the BIC comparison.
EMPIRICAL = 'empirical'

#: Rows used to fit the parametric families (a seeded subsample above this).
FIT_ROWS = 5000

#: A value holding this share of the rows is a point mass: no continuous family can fit it.
POINT_MASS = 0.01

#: Largest Kolmogorov-Smirnov distance at which a parametric family may be kept (on large
#: tables; see ``ks_limit``).
MAX_KS = 0.02


def ks_limit(n, max_ks=MAX_KS):
    """The KS distance a family may reach on ``n`` values: ``max_ks`` or, on small samples,
    the test's 1% critical value ``1.63 / sqrt(n)``, whichever is larger."""
    return max(max_ks, 1.63 / np.sqrt(max(n, 1)))


@dataclass
class Choice:
    """The distribution chosen for one numerical field.

    Attributes:
        family (str): a key of ``FAMILIES`` or ``'empirical'``.
        params (list[float]): the scipy.stats parameters (shape(s), loc, scale); empty for
            ``'empirical'``.
        bic (dict[str, float]): the BIC of every candidate that could be fitted (lower wins).
        source (str): ``'data'`` (fitted here), ``'llm'`` or ``'llm-refined'``.
    """

    family: str
    params: list
    bic: dict
    source: str = 'data'


def histogram_loglik(values, bins):
    """Log-likelihood and parameter count of an equal-frequency histogram density.

    A bin of zero width (a point mass) has infinite density; its rows are scored as ``+inf``
    (no continuous family can win against a point mass).

    Args:
        values (numpy.ndarray): float ``(n,)``, no NaN.
        bins (int): number of equal-frequency bins.

    Returns:
        tuple[float, int]: ``(loglik, parameters)``.
    """
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return np.inf, 1
    counts, _ = np.histogram(values, edges)
    widths = np.diff(edges)
    n = len(values)
    with np.errstate(divide='ignore'):
        density = counts / (n * widths)
        loglik = float(np.sum(counts[counts > 0] * np.log(density[counts > 0])))
    return loglik, 2 * len(counts)


def bic(loglik, parameters, n):
    """Bayesian information criterion ``k log n - 2 log L``."""
    return parameters * np.log(n) - 2.0 * loglik


def choose_family(values, families=tuple(FAMILIES), rng=None, max_ks=MAX_KS):
    """Fit the candidate families and the empirical density; keep the lowest BIC.

    A family is a candidate only if the values have no point mass (no value holds
    ``POINT_MASS`` of the rows) and its Kolmogorov-Smirnov distance to the values is at most
    ``ks_limit(n, max_ks)``; otherwise the empirical quantile function is kept.

    Args:
        values (numpy.ndarray): float ``(n,)`` of the field's non-missing values, ``n >= 1``.
        families (tuple[str]): candidate names from ``FAMILIES``.
        rng (numpy.random.Generator or None): draws the fitting subsample.
        max_ks (float): largest KS distance of a kept family.

    Returns:
        Choice
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    scores = {}
    loglik, k = histogram_loglik(values, max(2, min(50, int(np.sqrt(n)))))
    scores[EMPIRICAL] = bic(loglik, k, n)
    _, counts = np.unique(values, return_counts=True)
    if counts.size < 3 or counts.max() >= POINT_MASS * n:
        return Choice(EMPIRICAL, [], scores)
    rng = rng if rng is not None else np.random.default_rng(0)
    fit_values = values if n <= FIT_ROWS else rng.choice(values, FIT_ROWS, replace=False)
    fitted = {}
    for name in families:
        distribution, kwargs = FAMILIES[name]
        try:
            with warnings.catch_warnings(), np.errstate(all='ignore'):
                warnings.simplefilter('ignore')
                params = distribution.fit(fit_values, **kwargs)
                loglik = float(np.sum(distribution.logpdf(values, *params)))
        except (ValueError, RuntimeError, FloatingPointError):
            continue
        params = [float(p) for p in params]
        if np.isfinite(loglik) and ks_distance(fit_values, Choice(name, params, {})) <= \
                ks_limit(len(fit_values), max_ks):
            fitted[name] = params
            scores[name] = bic(loglik, len(params), n)
    best = min(scores, key=scores.get)
    return Choice(best, fitted.get(best, []), scores)


def quantile_knots(values, choice, knots=1025):
    """The field's quantile function at ``knots`` probabilities, clipped to the data's range.

    Empirical: linear interpolation between order statistics (``numpy.quantile``), which
    keeps point masses as flat stretches. Parametric: the family's ``ppf``.

    Args:
        values (numpy.ndarray): float ``(n,)``, no NaN.
        choice (Choice): the distribution.
        knots (int): number of probabilities, ``0`` and ``1`` included.

    Returns:
        tuple[list[float], list[float]]: ``(p, x)``, both non-decreasing.
    """
    values = np.asarray(values, dtype=float)
    knots = int(min(knots, max(2, len(values) + 1)))
    p = np.linspace(0.0, 1.0, knots)
    low, high = float(values.min()), float(values.max())
    if choice.family == EMPIRICAL:
        x = np.quantile(values, p)
    else:
        distribution, _ = FAMILIES[choice.family]
        inner = np.clip(p, 0.5 / len(values), 1 - 0.5 / len(values))
        with np.errstate(all='ignore'):
            x = distribution.ppf(inner, *choice.params)
        x = np.where(np.isfinite(x), x, np.quantile(values, p))
    x = np.maximum.accumulate(np.clip(x, low, high))
    return p.tolist(), x.tolist()


def ks_distance(values, choice):
    """Kolmogorov-Smirnov distance between the values and a parametric choice.

    Returns:
        float: in ``[0, 1]``; 0 for the empirical choice.
    """
    if choice.family == EMPIRICAL:
        return 0.0
    distribution, _ = FAMILIES[choice.family]
    with np.errstate(all='ignore'):
        return float(stats.kstest(values, distribution.cdf, args=tuple(choice.params)).statistic)
