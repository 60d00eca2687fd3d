"""Quantile bins of scaled integers: a continuous number in two tokens, exact when it must be.

A continuous column written digit by digit makes rows long, and every token is one decoder step
when sampling. ``QuantileBins`` writes a scaled integer ``m`` (see ``NumericalCodec``) as

* a **bin token**: ``m`` falls in one of up to ``max_bins`` quantile bins of the training
  values (TabularARGN's encoding of continuous columns); a value that holds at least
  ``1 / max_bins`` of the rows gets a bin of its own, so point masses stay exact. (Cutting
  the bins further at 50 equal-width edges, so that a long tail is not one bin, was measured
  and lowered quality on magic from 0.985 to 0.974 and on california from 0.949 to 0.945.)
* a **sub-bin token** ``u<j>``: the position inside the bin, one of at most ``max_sub_bins``
  equal-width sub-bins. The model learns this token like any other, conditioned on the bin and
  the rest of the row, so the shape inside a bin is learned, not drawn uniformly as
  TabularARGN does. By default a bin has about one sub-bin per 20 training values it holds
  (at most 100): finer sub-bins would let the model learn the training values themselves;
* nothing more: the rest of the value is drawn uniformly inside the sub-bin when decoding, at
  the column's full precision.

So a continuous number costs two tokens whatever its digits, and one for a bin of a single
value or a table too small for sub-bins (with ``TabularLMConfig.merge_sub_tokens`` the sub-bin
token shares the bin token's decoder position, see ``Fragment.merged``). Values that must come
back exactly (the values of a condition, the value an exact functional dependency maps to, the
edges of a range condition) take the **exact path**: the bin token, ``u<j>``, then the offset
inside the sub-bin as fixed-width digits ``r:<d>``, bounded by the digit automaton. Training rows never use the exact path, and one value automaton
never holds both paths of a sub-bin (the full automaton only the training path, a restricted
one the exact path for the sub-bins it cuts or the values it lists), so every automaton stays
prefix-free; a decoded ``u<j>`` followed by digits is exact, one without them is drawn.

Local token layout: ``num_bins`` bin tokens, ``max_sub_bins`` ``u`` tokens, then the ten
remainder digits (one set for every position: the automaton knows the position, and the model
never learns these tokens).
"""

import math

import numpy as np

from sdv_llm.schema.fragment import EXIT, Fragment, digit_range_fragment


class QuantileBins:
    """Quantile bins and equal-width sub-bins over an inclusive integer range.

    Args:
        edges (numpy.ndarray): int64 ``(num_bins + 1,)`` increasing; bin ``k`` holds the
            integers ``[edges[k], edges[k + 1])``.
        max_sub_bins (int): most sub-bins per bin.

    Attributes:
        width (numpy.ndarray): int64 ``(num_bins,)`` sub-bin width of each bin.
        count (numpy.ndarray): int64 ``(num_bins,)`` sub-bins of each bin (a bin of one
            sub-bin is written by its bin token alone on the training path).
        digits (numpy.ndarray): int64 ``(num_bins,)`` remainder digits of the exact path
            (0 where a sub-bin holds one integer, so ``u<j>`` alone is exact).
    """

    def __init__(self, edges, max_sub_bins=100):
        self.edges = np.asarray(edges, dtype=np.int64)
        self.max_sub_bins = int(max_sub_bins)
        size = np.diff(self.edges)
        self.width = -(-size // self.max_sub_bins)
        self.count = -(-size // self.width)
        self.digits = np.array([len(str(w - 1)) if w > 1 else 0 for w in self.width],
                               dtype=np.int64)

    @classmethod
    def fit(cls, scaled, low, high, max_bins=100, max_sub_bins=None):
        """Bins from the quantiles of training values, covering ``[low, high]``.

        Args:
            scaled (numpy.ndarray): int64 ``(n,)`` training values in ``[low, high]``.
            low, high (int): the inclusive range every bin together covers.
            max_bins (int): quantile bins (point masses may add a few more).
            max_sub_bins (int or None): most sub-bins per bin; ``None``: one per 20 training
                values of a quantile bin, between 1 and 100.

        Returns:
            QuantileBins
        """
        if max_sub_bins is None:
            max_sub_bins = int(np.clip(len(scaled) // (20 * max_bins), 1, 100))
        values = np.sort(np.asarray(scaled, dtype=np.int64))
        edges = {int(low), int(high) + 1}
        if len(values):
            index = np.ceil(np.linspace(0, 1, max_bins + 1)[1:-1] * len(values)).astype(int) - 1
            edges.update(int(v) for v in values[np.clip(index, 0, len(values) - 1)])
            distinct, counts = np.unique(values, return_counts=True)
            heavy = distinct[counts * max_bins >= len(values)]
            edges.update(int(v) for v in heavy)
            edges.update(int(v) + 1 for v in heavy)
        edges = sorted(e for e in edges if low <= e <= high + 1)
        return cls(np.array(edges, dtype=np.int64), max_sub_bins)

    @classmethod
    def uniform(cls, low, high, max_bins=100, max_sub_bins=10):
        """Equal-width bins over ``[low, high]``: no training values are read.

        The bins of a column fitted from its metadata (``NumericalCodec._fit_metadata``,
        differential privacy), where quantiles of the data would leak the data. The range's
        lower bound and zero (where inside it) also get a bin of one value each, as heavy
        values do in ``fit``: they are where measured amounts pile up (zero-inflated money,
        floors), and a point mass inside a wider bin would come back spread over it (its
        last digits are drawn uniformly), which Kolmogorov-Smirnov reads as a large gap
        (Adult under DP at epsilon 3: capital-gain's KS complement 0.095, BENCHMARKS.md,
        nineteenth session). The positions follow from the metadata alone.

        Args:
            low, high (int): the inclusive range.
            max_bins (int): bins (fewer when the range holds fewer integers).
            max_sub_bins (int): sub-bins per bin.

        Returns:
            QuantileBins
        """
        low, high = int(low), int(high)
        edges = set(np.round(np.linspace(low, high + 1, max_bins + 1)).astype(np.int64).tolist())
        edges.add(low + 1)
        if low < 0 <= high:
            edges.update((0, 1))
        edges = sorted(e for e in edges if low <= e <= high + 1)
        return cls(np.array(edges, dtype=np.int64), max_sub_bins)

    # ------------------------------------------------------------------ layout
    @property
    def num_bins(self):
        """Number of bins."""
        return len(self.edges) - 1

    @property
    def remainder_digits(self):
        """Most remainder digits of any bin's exact path."""
        return int(self.digits.max(initial=0))

    @property
    def max_length(self):
        """Most tokens of one value: bin, ``u<j>`` and the remainder digits."""
        return 2 + self.remainder_digits

    def tokens(self):
        """Names of the local tokens, in id order."""
        return ([f'b{k}:{self.edges[k]}' for k in range(self.num_bins)]
                + [f'u{j}' for j in range(self.max_sub_bins)]
                + ([f'r:{d}' for d in range(10)] if self.remainder_digits else []))

    def _u(self, j):
        return self.num_bins + j

    def _r(self, position, digit):
        """The remainder digit token (the same at every position)."""
        return self.num_bins + self.max_sub_bins + digit

    def _locate(self, scaled):
        scaled = np.asarray(scaled, dtype=np.int64)
        k = np.clip(np.searchsorted(self.edges, scaled, side='right') - 1, 0, self.num_bins - 1)
        j = (scaled - self.edges[k]) // self.width[k]
        return k, j, scaled - self.edges[k] - j * self.width[k]

    # --------------------------------------------------------------- encoding
    def encode(self, scaled, exact=False):
        """Token ids of scaled integers inside the bins' range.

        Args:
            scaled (numpy.ndarray): int64 ``(n,)``.
            exact (bool): write the remainder digits after ``u<j>`` where a sub-bin holds
                more than one integer (the exact path); else the training path.

        Returns:
            numpy.ndarray: int64 ``(n, max_length)``, ``-1`` padded.
        """
        k, j, rest = self._locate(scaled)
        out = np.full((len(k), self.max_length), -1, dtype=np.int64)
        out[:, 0] = k
        wide = (self.width[k] > 1) & exact
        split = (self.count[k] > 1) | wide
        out[split, 1] = self._u(j)[split]
        for row in np.flatnonzero(wide):
            width = int(self.digits[k[row]])
            text = str(int(rest[row])).zfill(width)
            out[row, 2:2 + width] = [self._r(p, int(c)) for p, c in enumerate(text)]
        return out

    def interval(self, tokens):
        """The integers that token ids stand for: ``[start, start + span)``.

        Args:
            tokens (numpy.ndarray): int ``(n, width)`` local ids from ``encode`` or sampling,
                ``-1`` padded.

        Returns:
            tuple: int64 ``(n,)`` arrays ``(start, span)``; ``span`` is 1 for the exact path
            and for bins of one integer.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        k = np.clip(tokens[:, 0], 0, self.num_bins - 1)
        second = tokens[:, 1] if tokens.shape[1] > 1 else np.full(len(k), -1)
        exact = (tokens[:, 2] >= 0) if tokens.shape[1] > 2 else np.zeros(len(k), dtype=bool)
        j = np.where(second < 0, 0, second - self._u(0))
        start = self.edges[k] + j * self.width[k]
        span = np.minimum(self.width[k], self.edges[k + 1] - start)
        for row in np.flatnonzero(exact):
            width = int(self.digits[k[row]])
            digits = (tokens[row, 2:2 + width] - self._r(0, 0)) % 10
            start[row] += int(''.join(str(d) for d in digits)) if width else 0
            span[row] = 1
        return start, span

    def decode(self, tokens, rng):
        """Scaled integers of token ids; the training path draws the remainder uniformly.

        Args:
            tokens (numpy.ndarray): int ``(n, width)`` local ids from ``encode`` or sampling.
            rng (numpy.random.Generator): draws the offset inside a sub-bin.

        Returns:
            numpy.ndarray: int64 ``(n,)``.
        """
        start, span = self.interval(tokens)
        offset = np.floor(rng.random(len(start)) * span).astype(np.int64)
        return start + np.minimum(offset, span - 1)

    # --------------------------------------------------------------- automata
    def fragment(self, low=None, high=None):
        """The automaton of the integers in ``[low, high]`` (default: every bin).

        Bins and sub-bins inside the range take the training path; a sub-bin that the range
        cuts takes the exact path, its remainder digits bounded to the range.

        Args:
            low, high (int or None): inclusive bounds, clipped to the bins' range.

        Returns:
            Fragment: over this object's local token ids.

        Raises:
            ValueError: no integer in range.
        """
        first, last = int(self.edges[0]), int(self.edges[-1]) - 1
        low = first if low is None else max(int(low), first)
        high = last if high is None else min(int(high), last)
        if low > high:
            raise ValueError('empty range')
        fragment = Fragment()
        shared = {}  # count -> state reading any of its u tokens
        for k in range(self.num_bins):
            start, stop = int(self.edges[k]), int(self.edges[k + 1]) - 1
            if stop < low or start > high:
                continue
            count = int(self.count[k])
            if low <= start and stop <= high and count == 1:
                fragment.transitions[0][k] = EXIT
            elif low <= start and stop <= high:
                if count not in shared:
                    shared[count] = fragment.add_state()
                    fragment.transitions[shared[count]] = {self._u(j): EXIT for j in range(count)}
                fragment.transitions[0][k] = shared[count]
            else:
                state = fragment.add_state()
                fragment.transitions[0][k] = state
                self._cut_bin(fragment, state, k, low, high)
        fragment.merged = self.merged_states(fragment)
        return fragment

    def merged_states(self, fragment, offset=0):
        """The states that read a sub-bin token after a bin token (``Fragment.merged``).

        Args:
            fragment (Fragment): any automaton of these bins (full, range or value set),
                start state 0, over this object's local ids shifted by ``offset``.
            offset (int): the shift (1 when ``<null>`` comes first).

        Returns:
            set[int]
        """
        return {target for token, target in fragment.transitions[0].items()
                if target != EXIT and 0 <= token - offset < self.num_bins}

    def _cut_bin(self, fragment, state, k, low, high):
        """Sub-bins of bin ``k`` in ``[low, high]``, read from ``state``."""
        width, edge = int(self.width[k]), int(self.edges[k])
        top = int(self.edges[k + 1]) - 1
        j_first = max(0, (low - edge) // width)
        j_last = min(int(self.count[k]) - 1, (high - edge) // width)
        for j in range(j_first, j_last + 1):
            start = edge + j * width
            stop = min(start + width - 1, top)
            if low <= start and stop <= high:
                fragment.transitions[state][self._u(j)] = EXIT
                continue
            digits = int(self.digits[k])
            inner = fragment.add_state()
            fragment.transitions[state][self._u(j)] = inner
            digit_range_fragment(fragment, inner, max(low, start) - start,
                                 min(high, stop) - start, digits, self._r)


def int64_decimals(places, magnitude, limit=10**17):
    """Most decimal places, up to ``places``, that keep ``magnitude * 10 ** d`` below ``limit``.

    Args:
        places (int): wanted decimal places.
        magnitude (float): largest absolute value of the column.
        limit (int): bound of the scaled integers (int64 arithmetic stays exact below it).

    Returns:
        int
    """
    if magnitude <= 0:
        return places
    room = math.floor(math.log10(limit / magnitude))
    return max(0, min(places, room))
