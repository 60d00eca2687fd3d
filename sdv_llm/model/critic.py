"""Critic filtering: draw extra rows and keep those a real-vs-synthetic classifier finds most real.

After training, the model samples rows and a classifier (the *critic*) learns to tell them from
the training rows. Sampling then draws ``ratio`` times as many rows as asked and keeps the ``n``
that look most real, so the rows the model gets most wrong (relations between columns it
learned badly, unlikely combinations) are the first to go. Two selections:

- ``'top'`` (confidence-based filtering): the ``n`` rows with the highest critic score.
- ``'weighted'`` (importance weights, discriminator rejection sampling): ``n`` rows drawn
  without replacement with probability proportional to the critic's density ratio
  ``p / (1 - p)`` (Efraimidis-Spirakis keys), so kept rows follow the model reweighted toward
  the data instead of only its most typical part.

Bound on how far the kept rows may move: the ``n`` kept rows are a subset of the
``m = ceil(ratio * n)`` drawn ones, so for any set ``A`` of rows (a category of one column, a
range of a number, any joint event) ``share_kept(A) <= ratio * share_drawn(A)`` and
``share_kept(A) >= ratio * share_drawn(A) - (ratio - 1)``; the total variation distance between
the kept and the drawn rows, and so between any marginal of them, is at most ``1 - 1 / ratio``
(2/3 at the default ratio 3; 1/3 at ratio 1.5). With known cells (imputation, ``sample_remaining_columns``)
each row is drawn ``ceil(ratio)`` times and one draw is kept per row.

The critic is a logistic regression (scikit-learn, L2, its strength chosen by 3-fold
cross-validation) on standardized numbers and datetimes, missing-value indicators, one-hot
categories, and their products: numbers with numbers, numbers with categories and pairs of
numbers with categories. It sees shifted means, variances and correlations, and how each of
them changes with the category of a target (the relations that ML efficacy tests). It is smooth, so it cannot single out training rows; its
state is plain arrays (model files keep it as JSON). The categories it knows are those of the
sampled rows, never a value that value protection hides.

Source: the project seeds' "post-filtering with a critic" strategy for small tables (the survey
of LLM synthetic data: a classifier that separates real from synthetic rows drops the least
realistic ones; confidence-based filtering and data weighting as variants); discriminator
rejection sampling, Azadi et al. 2019 (arXiv 1810.06758); weighted sampling without
replacement, Efraimidis & Spirakis 2006.
"""

import math

import numpy as np

from sdv_llm.evaluation.columns import as_labels, as_numbers
from sdv_llm.model.settings import merged_settings
from sdv_llm.model.training import small_table

DEFAULTS = {'ratio': 3.0, 'mode': 'weighted', 'rows': None}
"""``ratio``: rows drawn per row returned (> 1). ``mode``: ``'top'`` or ``'weighted'``.
``rows``: the critic's sampled rows, and the most training rows it reads (never more than
``MAX_CRITIC_ROWS``); ``None`` = every training row (at most ``MAX_CRITIC_ROWS``) against as
many sampled rows, at least ``MIN_SYNTHETIC_ROWS``."""

MODES = ('top', 'weighted')
MAX_CRITIC_ROWS = 10_000
MIN_SYNTHETIC_ROWS = 1_000
MAX_CATEGORIES = 30
"""Most one-hot categories per column (the most frequent of the sampled rows)."""
MAX_FEATURES = 4_000
"""Most features: past it, number x category products are dropped, then number pairs."""
MAX_LOGIT = 20.0
WEIGHT_LOGIT = 3.0
"""The ``'weighted'`` selection clips the critic's logit to +-3 (density ratios within
``e**-3`` and ``e**3``): a critic that is sure of itself on few rows and many features (AUC near
1 on breast_cancer) would otherwise turn the weighted draw into a choice of its most typical
rows. Measured on the ``small`` profile with mixed training (breast_cancer quality 0.916 ->
0.921, TSTR 0.972 -> 0.979; magic and titanic within 0.005; wine TSTR 0.825 -> 0.730, its 36
holdout rows make it the noisiest)."""


def critic_settings(value, num_rows=None):
    """The critic-filtering settings with defaults filled in, or ``None`` when off.

    Args:
        value (dict or bool or str or None): ``None``/``False`` = off, ``True`` = the defaults,
            ``'auto'`` = the defaults for tables of fewer than ``SMALL_TABLE_ROWS`` rows, else
            off, a dict of keys among ``DEFAULTS``.
        num_rows (int or None): training rows (``'auto'`` is off when ``None``).

    Returns:
        dict or None: ``ratio`` (float), ``mode`` (str) and ``rows`` (int or None).

    Raises:
        TypeError: ``value`` is not None, a bool or a dict.
        ValueError: an unknown key, a ratio not above 1 (nor finite), an unknown mode or rows
            not a positive integer (``critic_filter`` named).
    """
    if value is None or value is False:
        return None
    if isinstance(value, str) and value == 'auto':
        if num_rows is None or not small_table(num_rows):
            return None
        value = {}
    if value is True:
        value = {}
    merged = merged_settings(value, DEFAULTS, 'critic_filter', "None, a bool, 'auto' or a dict")
    ratio = merged['ratio']
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 1 \
            or not math.isfinite(ratio):
        raise ValueError(f"critic_filter['ratio'] must be a number above 1, not {ratio!r}.")
    if merged['mode'] not in MODES:
        raise ValueError(f"critic_filter['mode'] must be one of {MODES}, not {merged['mode']!r}.")
    rows = merged['rows']
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ValueError(f"critic_filter['rows'] must be None or a positive integer, not {rows!r}.")
    return {'ratio': float(ratio), 'mode': merged['mode'], 'rows': rows}




class Critic:
    """A fitted critic: its features (plain arrays) and logistic-regression weights.

    Args:
        numeric (list[tuple]): ``(column, sdtype, center, scale, missing)`` per number or
            datetime column (``missing``: whether a missing-value indicator is a feature).
        categorical (list[tuple]): ``(column, categories)`` per other column.
        products (numpy.ndarray): int ``(p, 3)``: products of three base features (indices
            into the base features: numbers' z-scores, then missing indicators, then one-hots,
            then the constant 1).
        coef (numpy.ndarray): float ``(base + p,)`` weights; ``intercept`` (float).
        mode (str), ratio (float): the selection (``DEFAULTS``).
        report (dict): ``real_rows``, ``synthetic_rows``, ``features``, ``C`` and ``auc`` (the
            cross-validated ROC AUC of the critic on its training rows: 0.5 = the model's
            rows cannot be told from the real ones).
    """

    def __init__(self, numeric, categorical, products, coef, intercept, mode, ratio, report):
        self.numeric = [tuple(item) for item in numeric]
        self.categorical = [(column, list(categories)) for column, categories in categorical]
        self.products = np.asarray(products, dtype=np.int64).reshape(-1, 3)
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)
        self.mode = str(mode)
        self.ratio = float(ratio)
        self.report = dict(report)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, real, synthetic, sdtypes, settings, seed=0):
        """Fit the critic on training rows against rows the model sampled.

        Args:
            real (pandas.DataFrame): training rows (raw values), the model's columns.
            synthetic (pandas.DataFrame): sampled rows, same columns.
            sdtypes (dict[str, str]): sdtype by column.
            settings (dict): ``critic_settings``' result.
            seed (int): seeds the subsample and the cross-validation folds.

        Returns:
            Critic

        Raises:
            ValueError: either table is empty.
        """
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        if not len(real) or not len(synthetic):
            raise ValueError('The critic needs training rows and sampled rows.')
        numeric, categorical = [], []
        for column in real.columns:
            sdtype = sdtypes.get(column)
            if sdtype in ('numerical', 'datetime'):
                values = np.concatenate([as_numbers(real[column], sdtype),
                                         as_numbers(synthetic[column], sdtype)])
                seen = values[np.isfinite(values)]
                center = float(np.median(seen)) if len(seen) else 0.0
                spread = float(np.std(seen)) if len(seen) else 0.0
                numeric.append((column, sdtype, center, spread if spread > 0 else 1.0,
                                bool(np.isnan(values).any())))
            else:
                # Categories of the sampled rows only: values the model can write.
                counts = as_labels(synthetic[column]).value_counts(sort=True)
                categorical.append((column, list(counts.index[:MAX_CATEGORIES])))
        critic = cls(numeric, categorical, np.zeros((0, 3)), [], 0.0, settings['mode'],
                     settings['ratio'], {})
        critic.products = critic._choose_products()
        features = np.vstack([critic.features(real), critic.features(synthetic)])
        labels = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
        folds = StratifiedKFold(3, shuffle=True, random_state=seed % 2**32)
        model = LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=folds, scoring='neg_log_loss',
                                     class_weight='balanced', max_iter=300)
        model.fit(features, labels)
        # The chosen strength's out-of-fold scores (no second search inside each fold).
        chosen = LogisticRegression(C=float(model.C_[0]), class_weight='balanced', max_iter=300)
        scores = cross_val_predict(chosen, features, labels, cv=folds,
                                   method='decision_function')
        critic.coef = model.coef_[0].astype(float)
        critic.intercept = float(model.intercept_[0])
        critic.report = {'real_rows': len(real), 'synthetic_rows': len(synthetic),
                         'features': int(features.shape[1]), 'C': float(model.C_[0]),
                         'auc': float(roc_auc_score(labels, scores))}
        return critic

    def _choose_products(self):
        """int ``(p, 3)``: the products kept, as indices of base features (``base`` = the
        constant 1): number pairs (squares too), number x category, then number pair x
        category, each group while the features stay within ``MAX_FEATURES``."""
        numbers = len(self.numeric)
        indicators = sum(1 for item in self.numeric if item[4])
        base = numbers + indicators + sum(len(c) for _, c in self.categorical)
        number_pairs = [(i, j) for i in range(numbers) for j in range(i, numbers)]
        onehot = range(numbers + indicators, base)
        groups = ([(i, j, base) for i, j in number_pairs],
                  [(i, k, base) for i in range(numbers) for k in onehot],
                  [(i, j, k) for i, j in number_pairs for k in onehot])
        products = []
        for group in groups:
            if base + len(products) + len(group) <= MAX_FEATURES:
                products += group
        return np.asarray(products, dtype=np.int64).reshape(-1, 3)

    # ----------------------------------------------------------------- scoring
    def features(self, rows):
        """float ``(len(rows), features)``: the critic's design matrix of ``rows``."""
        base = []
        indicators = []
        for column, sdtype, center, scale, missing in self.numeric:
            values = (as_numbers(rows[column], sdtype) - center) / scale
            absent = np.isnan(values)
            base.append(np.clip(np.where(absent, 0.0, values), -10, 10))
            if missing:
                indicators.append(absent.astype(float))
        base += indicators
        for column, categories in self.categorical:
            labels = np.asarray(as_labels(rows[column]))
            base += [(labels == category).astype(float) for category in categories]
        base = np.column_stack(base + [np.ones(len(rows))])
        products = self.products
        if not len(products):
            return base[:, :-1]
        return np.hstack([base[:, :-1], base[:, products[:, 0]] * base[:, products[:, 1]]
                          * base[:, products[:, 2]]])

    def logits(self, rows):
        """float ``(len(rows),)``: ``log(p / (1 - p))``, ``p`` the critic's probability that a
        row is real (clipped to +-``MAX_LOGIT``)."""
        if not len(rows):
            return np.zeros(0)
        return np.clip(self.features(rows) @ self.coef + self.intercept, -MAX_LOGIT, MAX_LOGIT)

    # --------------------------------------------------------------- selection
    def drawn_rows(self, num_rows):
        """int: rows to draw for ``num_rows`` returned (``ceil(ratio * num_rows)``)."""
        return math.ceil(self.ratio * num_rows - 1e-9)

    def select(self, rows, num_rows, rng):
        """Keep ``num_rows`` of the drawn ``rows`` (see the module for the bound).

        Args:
            rows (pandas.DataFrame): the drawn rows (``drawn_rows(num_rows)`` or more).
            num_rows (int): rows to keep.
            rng (numpy.random.Generator): draws of the ``'weighted'`` mode.

        Returns:
            numpy.ndarray: int ``(num_rows,)`` positions in ``rows``, ascending (the kept rows
            stay in the order they were drawn).
        """
        keys = self._keys(self.logits(rows), rng)
        return np.sort(np.argsort(-keys, kind='stable')[:num_rows])

    def select_per_row(self, rows, num_rows, draws, rng):
        """Keep one of ``draws`` draws of each row (rows with known cells).

        Args:
            rows (pandas.DataFrame): ``num_rows * draws`` rows, draw ``k`` of row ``i`` at
                position ``i * draws + k``.
            num_rows (int): rows.
            draws (int): draws of each row.
            rng (numpy.random.Generator): draws of the ``'weighted'`` mode.

        Returns:
            numpy.ndarray: int ``(num_rows,)`` positions in ``rows``, one per row, in row order.
        """
        keys = self._keys(self.logits(rows), rng).reshape(num_rows, draws)
        return np.arange(num_rows) * draws + np.argmax(keys, axis=1)

    def _keys(self, logits, rng):
        """Selection keys: the logits (``'top'``), or ``log(u) / w`` with ``w = p / (1 - p)``
        clipped to ``[e**-WEIGHT_LOGIT, e**WEIGHT_LOGIT]`` (``'weighted'``: the largest keys
        are a weighted draw without replacement)."""
        if self.mode == 'top':
            return logits
        return np.log(rng.random(len(logits))) * np.exp(-np.clip(logits, -WEIGHT_LOGIT,
                                                                  WEIGHT_LOGIT))

    def to_state(self):
        """The model-file state (``sdv_llm.state``)."""
        return {'numeric': [list(item) for item in self.numeric],
                'categorical': [[column, list(c)] for column, c in self.categorical],
                'products': self.products, 'coef': self.coef, 'intercept': self.intercept,
                'mode': self.mode, 'ratio': self.ratio, 'report': self.report}

    @classmethod
    def from_state(cls, state):
        """A critic from ``to_state``'s dict."""
        return cls(**state)
