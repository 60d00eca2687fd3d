"""Value protection: rare categories and extreme numbers of the training data are not reproduced.

The idea is mostlyai-engine's "value protection" (its ``analyze_reduce_categorical`` and
``analyze_reduce_numeric``): a category seen in fewer than ``k`` rows is not learned as itself,
and the range of a numerical or datetime column is cut at its ``k``-th smallest and largest
values, so that the single most extreme training values are never written; ``k`` is a base
``threshold`` plus a uniform random integer in ``[0, noise)``, drawn per column, so that
whether a category appears does not tell its exact count (mostlyai-engine draws ``5 + int(3 *
uniform)``, that is ``k`` in 5..7, the default here).

This module decides *what* is protected; the codecs apply it where they learn their value sets
and ranges (``ColumnCodec.fit(values, protection)``):

* ``CategoricalCodec`` and ``CharacterCodec``: the rare values are not stored; in training they
  are all written as one shared local token ``<rare>``, which every sampling automaton leaves
  out (``ColumnCodec.sampling_fragment``), so the model's probability of "some rare value" is
  renormalized over the common values and no row holds a rare value or a ``<rare>`` string.
  A column whose every data value is rare cannot be protected that way (it would have no value
  left): it is kept as it is and named by a ``UserWarning`` and ``get_privacy_info()``.
  Boolean columns are exempt (their values are known from the sdtype). The metadata's
  ``range_values`` add no value that is not common in the data (SDV's metadata detection
  writes every data value there).
* ``NumericalCodec``, ``DatetimeCodec`` and ``NumericTextCodec``: training values are clipped
  to ``[v_(k), v_(n-1-k)]`` (0-based order statistics of the ``n`` values, repetitions
  counted, so a common minimum such as 0 stays); with ``n <= 2k`` values both bounds are the
  median. The automaton's range is these bounds: ``range_min``/``range_max`` of the metadata
  do not widen it, since SDV's metadata detection writes the data's extremes there.

Nothing hidden is kept in the model: only counts (``ColumnCodec.protection``).
"""

import zlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ValueProtection:
    """How rare categories and extreme values are found (see the module).

    Attributes:
        threshold (int): the base ``k``: categories in fewer than ``k`` rows are hidden, and
            numbers are clipped to their ``k``-th smallest and largest values (0-based, so at
            least ``k + 1`` rows hold a value at or beyond each bound). Default 5.
        noise (int): ``k`` is raised by a uniform integer in ``[0, noise)`` per column
            (0: exactly ``threshold``). Default 3, as mostlyai-engine.
        seed (int): seeds the per-column draws of ``k``. It is not stored in the model (the
            codecs keep only counts), so ``k`` cannot be read back from the model files.
    """

    threshold: int = 5
    noise: int = 3
    seed: int = 0

    def column_threshold(self, column):
        """int: the ``k`` of one column (``threshold`` plus its draw of the noise)."""
        if self.noise <= 0:
            return int(self.threshold)
        rng = np.random.default_rng([int(self.seed) % 2**63,
                                     zlib.crc32(str(column).encode('utf-8'))])
        return int(self.threshold) + int(rng.integers(0, self.noise))

    def rare(self, counts, column):
        """Which values are rare: seen in fewer than ``k`` rows.

        Args:
            counts (pandas.Series): rows per distinct value (``value_counts()``).
            column (str): the column (its ``k``).

        Returns:
            numpy.ndarray: bool, one per entry of ``counts``.
        """
        return counts.to_numpy() < self.column_threshold(column)

    def bounds(self, numbers, column):
        """The protected range of a numerical column.

        Args:
            numbers (numpy.ndarray): float ``(n,)`` finite training values (no missing).
            column (str): the column (its ``k``).

        Returns:
            tuple or None: ``(low, high)``: the ``k``-th smallest and largest values (0-based
            order statistics), both the median when ``n <= 2k``; ``None`` without values.
        """
        numbers = np.sort(np.asarray(numbers, dtype=float))
        n = len(numbers)
        if n == 0:
            return None
        k = self.column_threshold(column)
        if n <= 2 * k:
            middle = float(numbers[(n - 1) // 2])
            return middle, middle
        return float(numbers[k]), float(numbers[n - 1 - k])


def clip_counts(numbers, bounds):
    """dict: how many values lie below and above the protected bounds (``clipped_low``,
    ``clipped_high``): counts only, never the values."""
    numbers = np.asarray(numbers, dtype=float)
    return {'clipped_low': int((numbers < bounds[0]).sum()),
            'clipped_high': int((numbers > bounds[1]).sum())}
