"""Protection in the model: the ``privacy`` settings, the copy filter and DCR early stopping.

``privacy`` (a synthesizer parameter, ``sdv_llm.parameters``) switches three protections:

* **value protection** (``sdv_llm.schema.protection``): rare categories and extreme numbers
  are not reproduced. On by default.
* **copy filter** (``CopyFilter``): a sampled row equal to a training row (every modelled
  column, in the codecs' canonical form, ``ColumnCodec.canonical_keys``) is drawn again, so
  that the share of such copies among the rows of a sample call is at most the *holdout copy
  rate*: the share of rows of the table's distribution that equal one of its rows, estimated at
  fit as the share of the rows given to ``fit`` that equal another of them (each row against
  the others: every row counts, where a validation split counts a tenth of them) and lowered to
  the one-sided 95 % Wilson lower bound of that share (``COPY_RATE_CONFIDENCE``), so that the
  promise holds with 95 % confidence rather than half of the time. On titanic (1,047 rows) the
  share is 0.323 and the bound 0.299, where the harness's 262 holdout rows gave 0.309; the
  rate of a validation split (a tenth of the rows) let the sample hold 0.320 (BENCHMARKS.md,
  nineteenth session). The model stores salted 64-bit hashes of the training rows (all rows
  given to ``fit``), never the rows. On by default.
* **DCR early stopping** (``DCRStopping``), REaLTabFormer's idea (Solatorio and Dupriez, 2023,
  its ``_train_with_sensitivity``): every ``dcr_every`` epochs ``dcr_rows`` rows are sampled
  and their DCR share (``sdv_llm.evaluation.privacy.dcr_share``: the share of synthetic rows
  closer to a training row than to any validation row, the training rows subsampled to the
  validation rows' number) is measured; after ``dcr_patience`` checks in a row above the
  threshold training stops and the weights of the best validation loss as of the last check
  under the threshold are restored. Off by default (``early_stopping=None``): each check
  costs a sample.

  The threshold is set at fit, as REaLTabFormer sets its own from real rows: the share of
  half the validation rows, compared with the training rows and the other half (rows the
  model never saw: what a model that copies nothing scores; ``null_share``, about 0.5, lower
  where ties are common) and the share of
  ``dcr_rows`` training rows themselves (what a model that copies every row scores;
  ``copy_share``: with a 10 % validation split only about 0.55, since a copy counts only when
  its row is among the compared ones) are measured, and the threshold is
  ``null_share + max((copy_share - null_share) / 2, 1 / sqrt(dcr_rows))``: half way to
  copying, and at least two standard errors above no copying. ``dcr_threshold`` sets it.

Defaults and keys: ``PRIVACY_DEFAULTS``.
"""

import copy
import hashlib
import logging
import math
import secrets

import numpy as np

LOGGER = logging.getLogger(__name__)

COPY_RATE_CONFIDENCE = 0.95
"""One-sided confidence of the lower bound the copy filter takes for the holdout copy rate."""

PRIVACY_DEFAULTS = {
    'value_protection': True,
    'rare_threshold': 5,
    'threshold_noise': 3,
    'copy_filter': True,
    'early_stopping': None,
    'dcr_threshold': None,
    'dcr_every': 5,
    'dcr_rows': 500,
    'dcr_patience': 2,
}
"""The privacy settings and their defaults.

* ``value_protection`` (bool): hide categories seen in fewer than ``k`` rows and clip numbers
  and datetimes to their ``k``-th smallest and largest values (``sdv_llm.schema.protection``).
* ``rare_threshold`` (int >= 1): the base ``k`` (mostlyai-engine's 5).
* ``threshold_noise`` (int >= 0): ``k`` is raised by a uniform integer in ``[0, noise)`` per
  column (mostlyai-engine's 3; 0 makes ``k`` exact).
* ``copy_filter`` (bool): redraw sampled rows equal to a training row beyond the holdout copy
  rate (``CopyFilter``).
* ``early_stopping`` (``None`` or ``'dcr'``): DCR early stopping (``DCRStopping``).
* ``dcr_threshold`` (float in (0, 1] or None): the DCR share that counts as copying; ``None``
  measures it at fit (see the module).
* ``dcr_every`` (int >= 1): epochs between checks (REaLTabFormer's ``n_critic``, 5).
* ``dcr_rows`` (int >= 10): rows sampled per check.
* ``dcr_patience`` (int >= 1): checks in a row above the threshold that stop training
  (REaLTabFormer's ``n_critic_stop``, 2).
"""

COPY_REDRAWS = 30
"""Most redraws of the rows that are still copies beyond the allowed share in one sample call."""
COPY_PLAIN_REDRAWS = 3
"""Redraws at the configured temperature; each later one multiplies it by
``COPY_TEMPERATURE_STEP`` (rows a model has memorized come back at temperature 1)."""
COPY_TEMPERATURE_STEP = 1.5


def _integer(value, low):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low


_CHECKS = {
    'value_protection': (lambda v: isinstance(v, bool), 'True or False'),
    'rare_threshold': (lambda v: _integer(v, 1), 'an integer >= 1'),
    'threshold_noise': (lambda v: _integer(v, 0), 'an integer >= 0'),
    'copy_filter': (lambda v: isinstance(v, bool), 'True or False'),
    'early_stopping': (lambda v: v is None or v == 'dcr', "None or 'dcr'"),
    'dcr_threshold': (lambda v: v is None or (isinstance(v, (int, float)) and
                                              not isinstance(v, bool) and 0 < v <= 1),
                      'None or a number in (0, 1]'),
    'dcr_every': (lambda v: _integer(v, 1), 'an integer >= 1'),
    'dcr_rows': (lambda v: _integer(v, 10), 'an integer >= 10'),
    'dcr_patience': (lambda v: _integer(v, 1), 'an integer >= 1'),
}


def privacy_settings(privacy):
    """The full privacy settings of a ``privacy`` parameter value.

    Args:
        privacy (dict or bool or None): ``None`` or ``True``: the defaults
            (``PRIVACY_DEFAULTS``); ``False``: every protection off; a dict: the defaults
            updated with its keys.

    Returns:
        dict: every key of ``PRIVACY_DEFAULTS``.

    Raises:
        TypeError: ``privacy`` is none of these.
        ValueError: an unknown key or a value of the wrong kind (both named).
    """
    settings = dict(PRIVACY_DEFAULTS)
    if privacy is None or privacy is True:
        return settings
    if privacy is False:
        settings.update(value_protection=False, copy_filter=False, early_stopping=None)
        return settings
    if not isinstance(privacy, dict):
        raise TypeError(f'privacy must be None, True, False or a dict, not {privacy!r}.')
    unknown = sorted(set(privacy) - set(PRIVACY_DEFAULTS))
    if unknown:
        raise ValueError(f'Unknown privacy settings {unknown}; the settings are '
                         f'{list(PRIVACY_DEFAULTS)}.')
    for key, value in privacy.items():
        check, expected = _CHECKS[key]
        if not check(value):
            raise ValueError(f'The privacy setting {key!r} must be {expected}, not {value!r}.')
    settings.update(privacy)
    return settings


def dcr_threshold(settings, null_share, copy_share):
    """float: the DCR share above which a check counts as copying (see the module).

    Args:
        settings (dict): ``privacy_settings``.
        null_share (float): DCR share of unseen rows (half the validation rows).
        copy_share (float): DCR share of training rows.

    Returns:
        float: ``dcr_threshold`` when set, else ``null_share + max((copy_share - null_share)
        / 2, 1 / sqrt(dcr_rows))``.
    """
    if settings['dcr_threshold'] is not None:
        return float(settings['dcr_threshold'])
    return float(null_share + max((copy_share - null_share) / 2,
                                  1 / math.sqrt(settings['dcr_rows'])))


# --------------------------------------------------------------------------- copy filter
def row_keys(schema, frame, columns):
    """One string per row that equal rows share (the copy filter's row identity).

    Args:
        schema (TableSchema): the fitted codecs (``ColumnCodec.canonical_keys``).
        frame (pandas.DataFrame): rows holding ``columns`` (raw or sampled values).
        columns (list[str]): the modelled columns, in a fixed order.

    Returns:
        list[str]: ``len(frame)`` keys.
    """
    cells = [schema.codecs[column].canonical_keys(frame[column]) for column in columns]
    if not cells:
        return [''] * len(frame)
    return ['\x1f'.join(row) for row in zip(*cells)]


class CopyFilter:
    """Salted hashes of the training rows and the share of copies a sample may hold.

    Args:
        salt (str): hex key of the keyed BLAKE2b hash (16 random bytes drawn at fit), so the
            hashes of one model cannot be matched against another's or a precomputed table.
            Whoever holds the model can still test whether a whole candidate row was a
            training row, as sampling it many times would also tell.
        hashes (numpy.ndarray): uint64 ``(m,)`` sorted distinct hashes of the training rows.
        holdout_rate (float): the share of copies allowed, in [0, 1].
        holdout_rows (int): the rows ``holdout_rate`` was measured on.
        reference (str): how it was measured: ``'duplicates, 95% lower bound'`` (see the
            module; files saved before the nineteenth session hold ``'validation split'`` or
            ``'duplicates'``).
    """

    def __init__(self, salt, hashes, holdout_rate, holdout_rows, reference):
        self.salt = str(salt)
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        self.holdout_rate = float(holdout_rate)
        self.holdout_rows = int(holdout_rows)
        self.reference = str(reference)

    @classmethod
    def fit(cls, keys, confidence=COPY_RATE_CONFIDENCE):
        """Hash the training rows and estimate the holdout copy rate.

        The rate is the share of rows equal to another row (each row against the ``n - 1``
        others, as a new row meets ``n``), lowered to its one-sided Wilson lower bound at
        ``confidence`` (``scipy.stats.binomtest``; rows are counted as independent trials,
        which rows in groups of equal ones are not, so the bound is a little optimistic).

        Args:
            keys (list[str]): ``row_keys`` of every row given to ``fit``.
            confidence (float): one-sided confidence in (0, 1); 0.5 keeps the share itself.

        Returns:
            CopyFilter
        """
        from scipy.stats import binomtest

        salt = secrets.token_hex(16)
        hashed = _hash(keys, salt)
        rate = 0.0
        if len(hashed):
            _, inverse, counts = np.unique(hashed, return_inverse=True, return_counts=True)
            copies = int((counts[inverse] > 1).sum())
            rate = copies / len(hashed)
            if copies and confidence > 0.5:
                interval = binomtest(copies, len(hashed)).proportion_ci(
                    confidence_level=2 * confidence - 1, method='wilson')
                rate = float(interval.low)
        return cls(salt, np.unique(hashed), rate, len(hashed),
                   f'duplicates, {confidence:.0%} lower bound')

    def copies(self, keys):
        """numpy.ndarray: bool ``(len(keys),)``, the rows equal to a training row."""
        if not len(keys):
            return np.zeros(0, dtype=bool)
        return np.isin(_hash(keys, self.salt), self.hashes)

    def allowed(self, num_rows):
        """int: the copies ``num_rows`` sampled rows may hold (``floor(rate * num_rows)``)."""
        return math.floor(self.holdout_rate * num_rows + 1e-9)

    def to_state(self):
        """The model-file state (``sdv_llm.state``): salt, hashes, rate, rows, reference."""
        return {'salt': self.salt, 'hashes': self.hashes, 'holdout_rate': self.holdout_rate,
                'holdout_rows': self.holdout_rows, 'reference': self.reference}

    @classmethod
    def from_state(cls, state):
        """Rebuild from ``to_state``; checks the types (a model file is not trusted).

        Raises:
            sdv_llm.state.UnsafeStateError: a field of the wrong type.
        """
        from sdv_llm.state import UnsafeStateError

        hashes = state.get('hashes') if isinstance(state, dict) else None
        if not isinstance(hashes, np.ndarray) or hashes.dtype != np.uint64 or \
                not isinstance(state.get('salt'), str):
            raise UnsafeStateError('The copy filter of the model file is not valid.')
        return cls(state['salt'], hashes, float(state['holdout_rate']),
                   int(state['holdout_rows']), str(state['reference']))


def _hash(keys, salt):
    """uint64 ``(len(keys),)`` keyed BLAKE2b-64 hashes of row keys."""
    key = bytes.fromhex(salt)
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(text.encode('utf-8'), digest_size=8, key=key).digest(),
                        'little') for text in keys), dtype=np.uint64, count=len(keys))


def empty_copy_stats():
    """dict: the copy filter's counters of one sample call, zeroed (see ``privacy_info``)."""
    return {'rows': 0, 'copies_found': 0, 'rows_resampled': 0, 'copies_kept': 0,
            'copies_over_limit': 0}


# ------------------------------------------------------------------ DCR early stopping
class DCRStopping:
    """Stop training when sampled rows get closer to training rows than to validation rows.

    ``train_backbone`` calls ``after_epoch`` after each epoch's validation and
    ``state_to_restore`` at the end.

    Args:
        measure (callable): ``measure(epoch) -> float``: the DCR share of rows sampled from the
            model now (in eval mode).
        threshold (float): the share above which a check counts as copying.
        every (int): check after every ``every``-th epoch.
        patience (int): checks in a row above the threshold that stop training.

    Attributes:
        checks (list[dict]): ``{'epoch', 'dcr_share'}`` of every check.
        stopped_epoch (int or None): the epoch after which training stopped, if it did.
        restored (str or None): which weights were restored because of the checks.
    """

    def __init__(self, measure, threshold, every=5, patience=2, reference=None):
        self.measure = measure
        self.threshold = float(threshold)
        self.reference = dict(reference or {})
        self.every = int(every)
        self.patience = int(patience)
        self.checks = []
        self.stopped_epoch = None
        self.restored = None
        self._failures = 0
        self._safe = None           # (state, epoch): best weights as of the last passed check
        self._least = None          # (share, state, epoch): the lowest share when none passed

    def after_epoch(self, epoch, model, best_state, best_epoch):
        """Check after ``epoch`` (0-based) when it is a check epoch.

        Args:
            epoch (int): the epoch just trained.
            model (torch.nn.Module): the model (set to eval mode for the check).
            best_state (dict or None): the best validation-loss weights so far.
            best_epoch (int or None): their epoch.

        Returns:
            bool: whether to stop training.
        """
        if (epoch + 1) % self.every:
            return False
        model.eval()
        share = float(self.measure(epoch))
        self.checks.append({'epoch': int(epoch), 'dcr_share': share})
        LOGGER.info('epoch %d DCR share %.3f (threshold %.3f)', epoch, share, self.threshold)
        if share <= self.threshold:
            self._failures = 0
            if best_state is None:
                self._safe = (copy.deepcopy(model.state_dict()), int(epoch))
            else:
                self._safe = (best_state, best_epoch)
            return False
        self._failures += 1
        if self._safe is None and (self._least is None or share < self._least[0]):
            self._least = (share, copy.deepcopy(model.state_dict()), int(epoch))
        if self._failures >= self.patience:
            self.stopped_epoch = int(epoch)
            return True
        return False

    def state_to_restore(self, best_state):
        """The weights to end with: ``best_state`` unless the last check was above the
        threshold; then the best weights as of the last check under it, or (none was) those of
        the check with the lowest share.

        Args:
            best_state (dict or None): the best validation-loss weights.

        Returns:
            dict or None: a state dict, or ``best_state``.
        """
        if not self._failures:
            return best_state
        if self._safe is not None:
            state, epoch = self._safe
            self.restored = f'best validation loss as of the last check under the threshold ' \
                            f'(epoch {epoch})'
            return state
        share, state, epoch = self._least
        self.restored = f'no check was under the threshold: the weights of the lowest share ' \
                        f'({share:.3f}, epoch {epoch})'
        return state

    def report(self):
        """dict: ``mode``, ``threshold``, the ``reference`` shares it was set from
        (``null_share``, ``copy_share``), ``every``, ``patience``, ``checks``,
        ``stopped_epoch``, ``restored``."""
        return {'mode': 'dcr', 'threshold': self.threshold, **self.reference,
                'every': self.every, 'patience': self.patience, 'checks': list(self.checks),
                'stopped_epoch': self.stopped_epoch, 'restored': self.restored}


def dcr_metadata(columns_metadata, columns):
    """SDV metadata of the modelled columns for ``dcr_share``: numerical and datetime columns
    as they are, every other column compared as a category.

    Args:
        columns_metadata (dict[str, dict]): SDV column metadata by column.
        columns (list[str]): the modelled columns.

    Returns:
        sdv.metadata.Metadata: one table, ``'table'``.
    """
    from sdv.metadata import Metadata

    spec = {}
    for column in columns:
        meta = columns_metadata.get(column, {})
        sdtype = meta.get('sdtype')
        if sdtype == 'datetime':
            spec[column] = {'sdtype': 'datetime', **({'datetime_format': meta['datetime_format']}
                                                     if meta.get('datetime_format') else {})}
        elif sdtype == 'numerical':
            spec[column] = {'sdtype': 'numerical'}
        else:
            spec[column] = {'sdtype': 'categorical'}
    return Metadata.load_from_dict({'tables': {'table': {'columns': spec}}})
