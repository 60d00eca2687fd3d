"""Numbers as text: scaled integers written in decimal, and the regex of a range of them.

A number domain (numerical and datetime columns without a writable ``datetime_format``) is a
scaled integer ``m`` in ``[low, high]`` written in decimal with exactly ``decimals`` places,
``-`` for negatives; datetimes as whole time units after the column's base.
"""

from dataclasses import dataclass

import numpy as np

from sdv_llm.schema.text_domains.regex import alternation


def _same_length(low, high):
    """Digit classes ``[(first, last), ...]`` of the integers between two equal-length strings."""
    if len(low) == 1:
        return [[(int(low), int(high))]]
    head_low, head_high = int(low[0]), int(high[0])
    if head_low == head_high:
        return [[(head_low, head_low)] + rest for rest in _same_length(low[1:], high[1:])]
    rest = len(low) - 1
    out, tail = [], []
    start = head_low
    if low[1:] != '0' * rest:
        out += [[(head_low, head_low)] + p for p in _same_length(low[1:], '9' * rest)]
        start += 1
    end = head_high
    if high[1:] != '9' * rest:
        tail = [[(head_high, head_high)] + p for p in _same_length('0' * rest, high[1:])]
        end -= 1
    if start <= end:
        out.append([(start, end)] + [(0, 9)] * rest)
    return out + tail


def digit_patterns(low, high):
    """The non-negative integers in ``[low, high]`` (no leading zeros) as digit-class sequences.

    The classic range-to-regex split: equal-length sub-ranges, then a prefix per differing
    digit. Each sequence is a list of inclusive ``(first, last)`` digit classes.

    Args:
        low (int), high (int): ``0 <= low``; an empty list when ``low > high``.

    Returns:
        list[list[tuple[int, int]]]
    """
    if low > high:
        return []
    if len(str(low)) < len(str(high)):
        top = 10 ** len(str(low)) - 1
        return digit_patterns(low, top) + digit_patterns(top + 1, high)
    return _same_length(str(low), str(high))


def _class(first, last):
    return str(first) if first == last else f'[{first}-{last}]'


def _magnitude_regex(low, high, decimals):
    """Regex of ``m / 10**decimals`` written with ``decimals`` places, ``m`` in ``[low, high]``."""
    patterns = []
    for sequence in digit_patterns(low, high):
        classes = [_class(*c) for c in sequence]
        if decimals == 0:
            patterns.append(''.join(classes))
        elif len(classes) > decimals:
            patterns.append(''.join(classes[:-decimals]) + '\\.' + ''.join(classes[-decimals:]))
        else:
            patterns.append('0\\.' + '0' * (decimals - len(classes)) + ''.join(classes))
    return patterns


def format_scaled(scaled, decimals):
    """Text of scaled integers: sign, integer part, ``decimals`` places (``-0`` never appears)."""
    out = []
    unit = 10**decimals
    for m in np.asarray(scaled, dtype=np.int64).tolist():
        sign = '-' if m < 0 else ''
        m = abs(m)
        text = str(m) if decimals == 0 else f'{m // unit}.{m % unit:0{decimals}d}'
        out.append(sign + text)
    return out


def parse_scaled(texts):
    """Scaled integers of texts written by ``format_scaled``."""
    return np.array([int(text.replace('.', '')) for text in texts], dtype=np.int64)


@dataclass
class NumberDomain:
    """Scaled integers ``m`` in ``[low, high]`` written with ``decimals`` places.

    Attributes:
        decimals (int): places after the point.
        low (int), high (int): the allowed scaled integers.
        to_scaled (callable): raw values -> int64 scaled integers.
        from_scaled (callable): int64 scaled integers -> raw values.
        scaled_range (callable): ``(low, high)`` raw bounds (``None`` open) -> scaled bounds.
    """

    decimals: int
    low: int
    high: int
    to_scaled: object
    from_scaled: object
    scaled_range: object
    quoted = False
    ranged = True

    def to_text(self, values):
        """Texts of raw values (a ``pandas.Series`` without missing values)."""
        return format_scaled(self.to_scaled(values), self.decimals)

    def from_text(self, strings):
        """Raw values of texts."""
        return self.from_scaled(parse_scaled(strings))

    def write(self, fmt, values):
        """Texts of raw values as they appear in a row (numbers are never quoted)."""
        return self.to_text(values)

    def parse(self, fmt, texts):
        """Values of texts written by :meth:`write`."""
        return self.from_text(texts)

    def describe(self, max_values=None):
        """``'from LOW to HIGH'`` (``max_values``: unused; strings list that many values)."""
        low, high = self.from_scaled(np.array([self.low, self.high])).tolist()
        return f'from {low} to {high}'

    def patterns(self, fmt=None, low=None, high=None):
        """Regexes of the texts of the scaled integers in ``[low, high]`` (default: all)."""
        low = self.low if low is None else max(low, self.low)
        high = self.high if high is None else min(high, self.high)
        patterns = _magnitude_regex(max(low, 0), high, self.decimals)
        if low < 0:
            negative = _magnitude_regex(max(1, -high), -low, self.decimals)
            if negative:
                patterns.append('-' + alternation(negative))
        return patterns
