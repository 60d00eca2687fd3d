"""Numerical columns: a value token, or a quantile bin and a sub-bin token."""

import math
import warnings

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import ColumnCodec
from sdv_llm.schema.codecs.bins import QuantileBins, int64_decimals
from sdv_llm.schema.fragment import EXIT, Fragment, digit_range_fragment
from sdv_llm.schema.protection import clip_counts
from sdv_llm.schema.text_domains import NumberDomain


def _decimal_places(values):
    """Most decimal places among the values (at most 15).

    ``x * 10**places`` must be an integer up to float rounding: within four units in the last
    place of the scaled value (a relative tolerance would take ``-16563454.270422`` for a
    number with one decimal).
    """
    finite = values[np.isfinite(values)]
    for places in range(16):
        scaled = finite * 10**places
        if np.all(np.abs(scaled - np.round(scaled)) <= 4 * np.spacing(np.abs(scaled) + 1)):
            return places
    return 15


class NumericalCodec(ColumnCodec):
    """A number as one value token, or as a quantile bin and a sub-bin token.

    A value ``x`` is first scaled to the integer ``m = round(x * 10 ** decimals)``. ``decimals``
    is the metadata's ``decimal_places`` (or the data's), so every value keeps the column's
    precision; it is lowered only when ``max_significant_digits`` is set or when ``m`` would
    leave exact int64 arithmetic (``|m| >= 10 ** 17``), and a ``UserWarning`` then names the
    column and the decimal places kept.

    The encoding is chosen per column by one rule:

    * **values**: the training column has at most ``max_discrete_values`` distinct values. Each
      gets a token of its own (as TabularARGN encodes numbers with few values as categories), so
      a row spends one token on the column. Other values in range (for conditions) are written
      after an escape token ``<digits>`` as a sign and ``width`` position-specific digit tokens
      (as REaLTabFormer, Solatorio and Dupriez, 2023).
    * **bins**: otherwise, a quantile-bin token and a sub-bin token, the last digits drawn
      uniformly inside the sub-bin (``sdv_llm.schema.codecs.bins.QuantileBins``): two tokens
      whatever the number of digits, exact paths for conditions and dependencies.

    The automaton allows exactly the integers in ``[range_min, range_max]`` (metadata range
    widened by the data range) when ``enforce_min_max_values`` is on, and any ``width``-digit
    number otherwise.

    With value protection (``sdv_llm.schema.protection``) the training values are first
    clipped to the column's protected bounds (its ``k``-th smallest and largest values), so the
    range, the value tokens and the bins are learned without the most extreme values, which
    are then never sampled (nor accepted in conditions). The metadata's ``range_min`` and
    ``range_max`` do not widen that range then: SDV's metadata detection writes the data's
    minimum and maximum there.

    Attributes learned in ``fit``: ``decimals``, ``low`` and ``high`` (the range of ``m``),
    ``width``, ``signed``, ``integer`` (whether the training column held integers), ``mode``
    (``'values'`` or ``'bins'``), ``discrete`` (the value set of ``m``, empty in bins mode),
    ``bins`` (``QuantileBins`` or None), ``protected_range`` (the protected bounds of ``m``, or
    None without value protection), ``known_range`` (with value protection, the range of
    ``m`` admitted for known cells: the protected bounds widened by the metadata's
    ``range_min``/``range_max``; None otherwise).
    """

    protected_range = None
    known_range = None

    sdtypes = ('numerical',)
    random_decode = True

    @property
    def max_length(self):
        if self.bins is not None:
            return self.bins.max_length
        return int(bool(self.discrete)) + int(self.signed) + self.width

    @property
    def _digit_base(self):
        """Local id of the first sign or digit token."""
        return len(self.discrete) + int(bool(self.discrete))

    def _fit(self, values):
        try:
            numbers = pd.to_numeric(values, errors='raise').to_numpy(dtype=float)
        except (ValueError, TypeError) as error:
            raise ValueError(f"Column '{self.column}' is numerical but holds values that are "
                             f'not numbers: {error}') from None
        self.integer = pd.api.types.is_integer_dtype(values.dtype) or (
            len(numbers) > 0 and np.all(numbers == np.round(numbers))
            and self.metadata.get('decimal_places', 0) == 0
        )
        declared = self.metadata.get('decimal_places')
        places = int(declared) if declared is not None else _decimal_places(numbers)
        protected = self._protected_bounds(numbers)
        if protected is not None:
            numbers = np.clip(numbers, *protected)
        bounds = [b for b in (self.metadata.get('range_min'), self.metadata.get('range_max'))
                  if b is not None and protected is None]  # SDV detects them from the data
        span = np.concatenate([numbers, np.asarray(bounds, dtype=float)])
        if len(span) == 0:
            span = np.zeros(1)
        if not np.all(np.isfinite(span)):
            raise ValueError(f"Column '{self.column}' holds infinite values.")

        self._set_range(places, float(span.min()), float(span.max()), protected)
        scaled = self._scale(numbers).astype(np.int64)
        distinct = np.unique(scaled)
        few = len(distinct) <= self.options.max_discrete_values
        self.discrete = [int(v) for v in distinct] if few else []
        self._discrete_index = {v: i for i, v in enumerate(self.discrete)}
        self.bins = None if few else QuantileBins.fit(
            scaled, *self._bounds(), self.options.max_bins, self.options.max_sub_bins)

    def _fit_metadata(self):
        """Range, decimal places and encoding from ``range_min``, ``range_max`` and
        ``decimal_places`` alone.

        A range of at most ``max_discrete_values`` values (at the decimal places) gets a
        token per value; a wider one equal-width bins over it (``QuantileBins.uniform``:
        ``max_bins`` bins of ``max_sub_bins`` or ``METADATA_SUB_BINS`` sub-bins, and one-value
        bins for the range's lower bound and zero), where the data would have placed quantile
        bins.

        Raises:
            ValueError: a key is missing (named), or the range is empty or not finite.
        """
        from sdv_llm.schema.metadata_only import missing_keys, missing_message
        from sdv_llm.schema.options import METADATA_SUB_BINS

        keys = missing_keys(self.metadata, self.dtype)
        if keys:
            raise ValueError(missing_message(self.column, self.metadata, keys))
        low, high = float(self.metadata['range_min']), float(self.metadata['range_max'])
        if not (np.isfinite(low) and np.isfinite(high)) or low > high:
            raise ValueError(f"Column '{self.column}' has the metadata range [{low}, {high}], "
                             'which holds no number.')
        places = int(self.metadata['decimal_places'])
        self.integer = places == 0 or (self.dtype is not None
                                       and pd.api.types.is_integer_dtype(self.dtype))
        self._set_range(places, low, high)
        few = self.high - self.low + 1 <= self.options.max_discrete_values
        self.discrete = list(range(self.low, self.high + 1)) if few else []
        self._discrete_index = {v: i for i, v in enumerate(self.discrete)}
        self.bins = None if few else QuantileBins.uniform(
            *self._bounds(), self.options.max_bins,
            self.options.max_sub_bins or METADATA_SUB_BINS)

    def _set_range(self, places, low, high, protected=None):
        """Set ``decimals``, ``low``, ``high``, ``signed`` and ``width`` from the wanted
        decimal places and the range of the values (warning when decimals are cut), and the
        ``protected_range``/``known_range`` of value protection from its ``protected``
        bounds (None without it)."""
        magnitude = max(abs(low), abs(high))
        if magnitude >= 10**17:
            raise ValueError(
                f"Column '{self.column}' holds values up to {magnitude:.6g}; numbers of "
                'magnitude 1e17 or more cannot be represented exactly: declare the column '
                "'id' or 'categorical', or scale it.")
        exact = int64_decimals(places, magnitude)
        self.decimals = exact
        significant = self.options.max_significant_digits
        if significant is not None:
            integer_digits = 0 if magnitude < 1 else len(str(int(magnitude)))
            self.decimals = min(exact, max(0, significant - integer_digits))
        if self.decimals < places:
            reason = ('(max_significant_digits).' if self.decimals < exact
                      else '(numbers stay below 1e17 once scaled).')
            warnings.warn(f"Column '{self.column}' has {places} decimal places; "
                          f'{self.decimals} are kept {reason}', UserWarning, stacklevel=2)
        scale = 10**self.decimals
        self.protected_range = self.known_range = None
        if protected is not None:
            self.protected_range = (round(protected[0] * scale), round(protected[1] * scale))
            declared = [self.metadata.get('range_min'), self.metadata.get('range_max')]
            self.known_range = self.widened_range(self.protected_range, *declared)
        self.low = math.ceil(round(low * scale, 6))
        self.high = math.floor(round(high * scale, 6))
        if self.low > self.high:  # a range narrower than the resolution
            self.low = self.high = round(low * scale)
        self.signed = self.low < 0
        self.width = max(1, len(str(max(abs(self.low), abs(self.high)))))

    def _protected_bounds(self, numbers):
        """The protected ``(low, high)`` of the training values, or None (no value protection
        asked, or no finite value); records the clipped counts in ``protection``."""
        protection = getattr(self, '_value_protection', None)
        finite = numbers[np.isfinite(numbers)]
        if protection is None or not len(finite):
            return None
        bounds = protection.bounds(finite, self.column)
        self.protection = clip_counts(finite, bounds)
        return bounds

    @property
    def mode(self):
        """``'values'`` (a token per value) or ``'bins'`` (quantile bin and sub-bin)."""
        return 'values' if self.bins is None else 'bins'

    def _scale(self, numbers):
        scaled = np.round(np.asarray(numbers, dtype=float) * 10**self.decimals)
        if self.protected_range is not None:
            scaled = np.clip(scaled, *self.protected_range)
        if self.enforce_min_max_values:
            scaled = np.clip(scaled, self.low, self.high)
        return scaled

    def _value_tokens(self):
        if self.bins is not None:
            return self.bins.tokens()
        values = [f'={v / 10 ** self.decimals:g}' for v in self.discrete]
        escape = ['<digits>'] if self.discrete else []
        signs = ['+', '-'] if self.signed else []
        return values + escape + signs + [f'd{position}:{digit}' for position in range(self.width)
                                          for digit in range(10)]

    def _digit_token(self, position, digit):
        return self._digit_base + 2 * int(self.signed) + 10 * position + digit

    def _digits(self, scaled):
        """Sign and digit tokens of scaled integers, shape ``(n, signed + width)``."""
        magnitude = np.abs(scaled).astype(np.int64)
        if (magnitude >= 10**self.width).any():
            raise ValueError(
                f"Column '{self.column}' has a value too large for the {self.width} digits it was "
                'fitted with.'
            )
        powers = 10 ** np.arange(self.width - 1, -1, -1, dtype=np.int64)
        digits = (magnitude[:, None] // powers[None, :]) % 10
        codes = self._digit_token(np.arange(self.width)[None, :], digits)
        if self.signed:
            sign = self._digit_base + (scaled < 0).astype(np.int64)[:, None]
            codes = np.concatenate([sign, codes], axis=1)
        return codes

    def _encode_values(self, values, exact=False):
        scaled = self._scale(pd.to_numeric(values, errors='coerce').to_numpy(dtype=float))
        if self.bins is not None:
            low, high = self._bounds()
            return self.bins.encode(np.clip(scaled, low, high).astype(np.int64), exact)
        if not self.discrete:
            return self._digits(scaled)

        index = np.fromiter((self._discrete_index.get(int(v), -1) for v in scaled),
                            dtype=np.int64, count=len(scaled))
        codes = np.full((len(scaled), self.max_length), -1, dtype=np.int64)
        codes[:, 0] = index
        escaped = index < 0
        if escaped.any():
            codes[escaped, 0] = len(self.discrete)
            codes[escaped, 1:] = self._digits(scaled[escaped])
        return codes

    def _decode_values(self, tokens, rng=None):
        if self.bins is not None:
            return self.from_scaled(self.bins.decode(tokens, rng or np.random.default_rng(0)))
        scaled = np.zeros(len(tokens), dtype=np.int64)
        digit_rows = np.ones(len(tokens), dtype=bool)
        if self.discrete:
            first = tokens[:, 0]
            digit_rows = first == len(self.discrete)
            values = np.asarray(self.discrete, dtype=np.int64)
            scaled[~digit_rows] = values[first[~digit_rows]]
            tokens = tokens[:, 1:]
        if digit_rows.any():
            rows = tokens[digit_rows] - self._digit_base
            sign = 1
            if self.signed:
                sign = np.where(rows[:, 0] == 1, -1, 1)
                rows = rows[:, 1:]
            digits = (rows[:, : self.width] - 2 * int(self.signed)) % 10
            powers = 10 ** np.arange(self.width - 1, -1, -1, dtype=np.int64)
            scaled[digit_rows] = sign * (digits * powers[None, :]).sum(axis=1)
        return self.from_scaled(scaled)

    def from_scaled(self, scaled):
        """Values of scaled integers ``m = round(x * 10 ** decimals)``.

        Args:
            scaled (numpy.ndarray): int64 ``(n,)``.

        Returns:
            numpy.ndarray: int64 for integer columns, else float64 rounded to ``decimals``.
        """
        scaled = np.asarray(scaled, dtype=np.int64)
        if self.decimals == 0:
            return scaled if self.integer else scaled.astype(float)
        return np.round(scaled / 10**self.decimals, self.decimals)

    def to_scaled(self, values):
        """Scaled integers of raw values (clipped to the range when it is enforced)."""
        scaled = self._scale(pd.to_numeric(pd.Series(values), errors='coerce')
                             .to_numpy(dtype=float))
        return scaled.astype(np.int64)

    def text_domain(self):
        low, high = self._bounds()
        return NumberDomain(self.decimals, low, high, self.to_scaled, self.from_scaled,
                            self.scaled_range)

    def _bounds(self):
        """The scaled integers the automaton allows: the fitted range, or all ``width`` digits."""
        if self.enforce_min_max_values:
            return self.low, self.high
        limit = 10**self.width - 1
        return (-limit if self.signed else 0), limit

    def _digit_fragment(self, low, high):

        fragment = Fragment()
        if not self.signed:
            return digit_range_fragment(fragment, 0, low, high, self.width, self._digit_token)

        sign_base = self._digit_base
        if high >= 0:
            positive = fragment.add_state()
            fragment.transitions[0][sign_base] = positive
            digit_range_fragment(fragment, positive, max(low, 0), high, self.width,
                                 self._digit_token)
        if low < 0:
            negative = fragment.add_state()
            fragment.transitions[0][sign_base + 1] = negative
            digit_range_fragment(fragment, negative, max(1, -high), -low, self.width,
                                 self._digit_token)
        return fragment

    def _value_fragment(self, low=None, high=None):
        """Values whose scaled integer is in ``[low, high]`` (default: every allowed value)."""
        bounds = self._bounds()
        low = bounds[0] if low is None else max(low, bounds[0])
        high = bounds[1] if high is None else min(high, bounds[1])
        if low > high:
            raise ValueError(f"Column '{self.column}' has no value in the requested range."
                             f'{self._protection_note()}')
        if self.bins is not None:
            return self.bins.fragment(low, high)
        digits = self._digit_fragment(low, high)
        if not self.discrete:
            return digits

        start = {i: EXIT for i, value in enumerate(self.discrete) if low <= value <= high}
        start[len(self.discrete)] = 1
        shifted = [{t: (EXIT if target == EXIT else target + 1) for t, target in state.items()}
                   for state in digits.transitions]
        return Fragment([start] + shifted)

    def _merged_states(self, fragment):
        return self.merged_states(fragment, self.offset)

    def merged_states(self, fragment, offset):
        """The states of ``fragment`` that read a sub-bin token (``Fragment.merged``).

        Args:
            fragment (Fragment): a value automaton of this codec's tokens shifted by
                ``offset`` (codecs that wrap this one add their own tokens before it).
            offset (int): the local id of this codec's first token in ``fragment``.

        Returns:
            set[int]: empty in values mode.
        """
        return set() if self.bins is None else self.bins.merged_states(fragment, offset)

    def scaled_range(self, low, high):
        """Scaled integer bounds ``[ceil(low * 10**decimals), floor(high * 10**decimals)]``."""
        scale = 10**self.decimals
        low = None if low is None else math.ceil(round(float(low) * scale, 6))
        high = None if high is None else math.floor(round(float(high) * scale, 6))
        return low, high

    def range_fragment(self, low, high, seen_only=False):
        """The values in ``[low, high]``; ``seen_only`` keeps the one-token values alone.

        Args:
            low, high: inclusive bounds, ``None`` for an open side.
            seen_only (bool): in values mode, only the training values in range (their
                tokens), not the digit path of other values; the digit path serves when no
                training value is in range. A constraint's rule uses it so that the column's
                value is again one token (and can itself restrict a later column).

        Raises:
            ValueError: no value in range.
        """
        scaled = self.scaled_range(low, high)
        if seen_only and self.bins is None and self.discrete:
            bounds = self._bounds()
            lo = bounds[0] if scaled[0] is None else max(scaled[0], bounds[0])
            hi = bounds[1] if scaled[1] is None else min(scaled[1], bounds[1])
            inside = {i: EXIT for i, value in enumerate(self.discrete) if lo <= value <= hi}
            if inside:
                return self._shifted(Fragment([inside]))
        return self._shifted(self._value_fragment(*scaled))

    def _round_trips(self, values):
        numbers = pd.to_numeric(values, errors='coerce').to_numpy(dtype=float)
        scaled = np.round(numbers * 10**self.decimals)
        low, high = self._bounds()
        exact = np.isclose(scaled, numbers * 10**self.decimals, rtol=1e-9, atol=1e-6)
        inside = (scaled >= low) & (scaled <= high)
        if self.protected_range is not None:  # even inside a wider declared range
            inside &= (scaled >= self.protected_range[0]) & (scaled <= self.protected_range[1])
        return np.isfinite(numbers) & exact & inside

    def widened_range(self, scaled_range, low=None, high=None):
        """``scaled_range`` widened to include the numbers ``low`` and ``high`` (None: not)."""
        start, stop = scaled_range
        scale = 10**self.decimals
        if low is not None and np.isfinite(float(low)):
            start = min(start, math.floor(round(float(low) * scale, 6)))
        if high is not None and np.isfinite(float(high)):
            stop = max(stop, math.ceil(round(float(high) * scale, 6)))
        return int(start), int(stop)

    def canonical(self, values):
        """The values as the codec decodes them; with value protection, a known value beyond
        the protected bounds keeps its value (rounded to the column's decimal places)."""
        if self.protected_range is None:
            return super().canonical(values)
        return self._unclipped(values, lambda scaled: self.from_scaled(scaled))

    def _unclipped(self, values, convert):
        """``convert`` of the scaled integers of present values, NaN where missing."""
        values = pd.Series(values).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        numbers = pd.to_numeric(values[~null_mask], errors='coerce').to_numpy(dtype=float)
        scaled = np.round(numbers * 10**self.decimals).astype(np.int64)
        return self._merge(convert(scaled), null_mask)

    def _known_round_trips(self, values):
        """Known cells may lie beyond the protected bounds, inside ``known_range`` (or any
        ``width``-digit number when the range is not enforced): they are written back as
        given and encoded at the nearest protected bound."""
        if self.protected_range is None:
            return self._round_trips(values)
        numbers = pd.to_numeric(values, errors='coerce').to_numpy(dtype=float)
        scaled = np.round(numbers * 10**self.decimals)
        low, high = self.known_range if self.enforce_min_max_values else self._bounds()
        exact = np.isclose(scaled, numbers * 10**self.decimals, rtol=1e-9, atol=1e-6)
        return np.isfinite(numbers) & exact & (scaled >= low) & (scaled <= high)

    def _present_keys(self, values):
        numbers = pd.to_numeric(values, errors='coerce').to_numpy(dtype=float)
        scaled = np.round(numbers * 10**self.decimals)
        if np.isfinite(scaled).all() and (np.abs(scaled) < 2.0**62).all():
            return ('n:' + pd.Series(scaled.astype(np.int64)).astype(str)).tolist()
        return [f'n:{int(v)}' if np.isfinite(v) else f'n:{v!r}' for v in scaled]
