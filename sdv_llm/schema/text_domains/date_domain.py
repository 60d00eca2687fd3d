"""Datetimes written in their column's ``datetime_format``, with exact range regexes.

A datetime column whose ``datetime_format`` is made of ``%Y``, ``%m``, ``%d``, ``%H``, ``%M``
and ``%S`` (any order, any literal separators) is written in that format in the text
serializations (``"1995-03-24"``, ``"24/03/1995 10:30"``), so a pretrained model reads dates
as it saw them in pretraining. The regex of every allowed value is built from the calendar:
the range ``[low, high]`` is cut into blocks that are products of per-field sets (the usual
lexicographic range split, with years grouped by leap year and months by their length), and
each block is written in the format's field order. Fields finer than the column's unit are
fixed at zero, so every text is a whole number of units. Other formats keep the unit counts of
``NumberDomain`` (``sdv_llm.schema.text_domains.number_domain``).
"""

import calendar
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdv_llm.schema.text_domains.regex import alternation, regex_escape

#: Fields from the most to the least significant: directive, width, smallest, largest.
FIELDS = (('Y', 4, 1000, 9999), ('m', 2, 1, 12), ('d', 2, 1, 31), ('H', 2, 0, 23),
          ('M', 2, 0, 59), ('S', 2, 0, 59))
#: Fields a whole number of each unit needs (``DatetimeCodec`` units).
UNIT_FIELDS = {'D': 3, 'h': 4, 'm': 5, 's': 6}
_DIRECTIVE = re.compile(r'%(.)')


def parse_format(fmt):
    """Split a strftime format into literals and fields.

    Args:
        fmt (str): a ``datetime_format``.

    Returns:
        list[tuple[str, str]] or None: ``('lit', text)`` and ``('field', directive)`` parts;
        ``None`` when the format uses a directive other than ``%Y %m %d %H %M %S %%``, repeats
        one, or its fields are not the most significant ones (``%Y``, then ``%m``, ...).
    """
    parts, position, seen = [], 0, []
    for match in _DIRECTIVE.finditer(fmt):
        if match.start() > position:
            parts.append(('lit', fmt[position:match.start()]))
        directive = match.group(1)
        if directive == '%':
            parts.append(('lit', '%'))
        elif directive in 'YmdHMS' and directive not in seen:
            parts.append(('field', directive))
            seen.append(directive)
        else:
            return None
        position = match.end()
    if position < len(fmt):
        parts.append(('lit', fmt[position:]))
    names = [name for name, *_ in FIELDS]
    if sorted(seen, key=names.index) != names[:len(seen)]:
        return None
    return parts


def _padded(low, high, width):
    """Regex of the zero-padded ``width``-digit integers in ``[low, high]``."""
    if width == 1:
        return str(low) if low == high else f'[{low}-{high}]'
    size = 10 ** (width - 1)
    first, last = low // size, high // size
    if first == last:
        return f'{first}{_padded(low % size, high % size, width - 1)}'
    parts = []
    if low % size:
        parts.append(f'{first}{_padded(low % size, size - 1, width - 1)}')
        first += 1
    end = last if high % size == size - 1 else last - 1
    if end >= first:
        digits = str(first) if end == first else f'[{first}-{end}]'
        parts.append(digits + '[0-9]' * (width - 1))
    if end < last:
        parts.append(f'{last}{_padded(0, high % size, width - 1)}')
    return alternation(parts)


def _set_regex(values, width):
    """Regex of a set of integers, zero-padded to ``width``, by runs of consecutive values."""
    values = sorted(set(values))
    runs, start = [], values[0]
    for previous, value in zip(values, values[1:] + [None]):
        if value != previous + 1:
            runs.append(_padded(start, previous, width))
            start = value
    return alternation(runs)


@dataclass
class DateDomain:
    """Whole units ``[low, high]`` after a base, written as datetimes in a strftime format.

    Attributes:
        fmt (str): the strftime format (see :func:`parse_format`).
        unit (str): ``'D'``, ``'h'``, ``'m'`` or ``'s'``.
        low (int), high (int): the allowed unit counts.
        to_counts (callable): raw values (``pandas.Series``) -> int64 unit counts.
        from_counts (callable): int64 unit counts -> raw values.
        count_range (callable): ``(low, high)`` raw bounds (``None`` open) -> count bounds.
        to_stamps (callable): int64 unit counts -> ``pandas.DatetimeIndex``.
    """

    fmt: str
    unit: str
    low: int
    high: int
    to_counts: object
    from_counts: object
    count_range: object
    to_stamps: object
    quoted = True
    ranged = True

    def __post_init__(self):
        self.parts = parse_format(self.fmt)
        self.fields = [p for kind, p in self.parts or () if kind == 'field']
        if len(self.fields) < UNIT_FIELDS[self.unit]:
            raise ValueError(f'{self.fmt!r} cannot write every {self.unit!r} unit exactly.')

    def to_text(self, values):
        """Texts of raw values (a ``pandas.Series`` without missing values)."""
        return list(self.to_stamps(self.to_counts(values)).strftime(self.fmt))

    def from_text(self, strings):
        """Raw values of texts."""
        return self.from_counts(self.to_counts(pd.Series(list(strings), dtype=object)))

    def write(self, fmt, values):
        """Texts of raw values as they appear in a row of ``fmt`` (quoted where needed)."""
        return [fmt.quote(t) for t in self.to_text(values)]

    def parse(self, fmt, texts):
        """Values of texts written by :meth:`write` (a date's quoting never escapes)."""
        prefix, suffix = self._quotes(fmt)
        return self.from_text([t[len(prefix):len(t) - len(suffix)] for t in texts])

    def _quotes(self, fmt):
        """What ``fmt`` writes before and after a date (the format's literals decide)."""
        sample = self.to_stamps(np.array([self.low])).strftime(self.fmt)[0]
        quoted = fmt.quote(sample)
        return tuple(quoted.split(sample, 1)) if quoted != sample else ('', '')

    def scaled_range(self, low, high):
        """Count bounds of raw bounds (``None`` open)."""
        return self.count_range(low, high)

    def describe(self, max_values=None):
        """``'from FIRST to LAST'`` in the format (``max_values``: unused, as for numbers)."""
        first, last = self.to_stamps(np.array([self.low, self.high])).strftime(self.fmt)
        return f'from {first} to {last}'

    def patterns(self, fmt, low=None, high=None):
        """Regexes of the quoted texts of the counts in ``[low, high]`` (default: all).

        Args:
            fmt (TextFormat): quotes the text (JSON strings; CSV when a literal needs it).
            low, high (int or None): count bounds.

        Returns:
            list[str]: empty when the range holds no count.
        """
        low = self.low if low is None else max(int(low), self.low)
        high = self.high if high is None else min(int(high), self.high)
        if low > high:
            return []
        first, last = self.to_stamps(np.array([low, high]))
        fixed = UNIT_FIELDS[self.unit]
        bounds = [tuple(getattr(stamp, attribute) for attribute in
                        ('year', 'month', 'day', 'hour', 'minute', 'second')[:len(self.fields)])
                  for stamp in (first, last)]
        blocks = self._range(0, (), *bounds, fixed)
        order = [name for name, *_ in FIELDS]
        texts = []
        for block in blocks:
            text = ''
            for kind, part in self.parts:
                if kind == 'lit':
                    text += regex_escape(part)
                else:
                    index = order.index(part)
                    text += _set_regex(block[index], FIELDS[index][1])
            texts.append(text)
        prefix, suffix = self._quotes(fmt)
        return [regex_escape(prefix) + alternation(texts) + regex_escape(suffix)]

    def _bounds(self, depth, prefix, fixed):
        if depth >= fixed:
            return 0, 0   # finer than the unit: always zero
        if depth == 2:
            return 1, calendar.monthrange(prefix[0], prefix[1])[1]
        return FIELDS[depth][2], FIELDS[depth][3]

    def _range(self, depth, prefix, low, high, fixed):
        """Blocks (per-field value lists) of the tuples in ``[low, high]`` (``None`` open)."""
        if depth == len(self.fields):
            return [[]]
        smallest, largest = self._bounds(depth, prefix, fixed)
        first = low[0] if low is not None else smallest
        last = high[0] if high is not None else largest
        if low is None and high is None:
            return self._every(depth, prefix, list(range(first, last + 1)), fixed)
        rest_low = low[1:] if low is not None else None
        rest_high = high[1:] if high is not None else None
        if first == last:
            return [[[first]] + block for block in
                    self._range(depth + 1, prefix + (first,), rest_low, rest_high, fixed)]
        blocks = [[[first]] + block for block in
                  self._range(depth + 1, prefix + (first,), rest_low, None, fixed)]
        if last - first > 1:
            blocks += self._every(depth, prefix, list(range(first + 1, last)), fixed)
        blocks += [[[last]] + block for block in
                   self._range(depth + 1, prefix + (last,), None, rest_high, fixed)]
        return blocks

    def _every(self, depth, prefix, values, fixed):
        """Blocks of ``values`` at ``depth`` with every valid value of the later fields.

        Values whose later fields allow the same sets (years by leap year, months by length)
        share a block.
        """
        has_day = len(self.fields) > 2 and fixed > 2
        groups = {}
        for value in values:
            if has_day and depth == 0:
                key = calendar.isleap(value)
            elif has_day and depth == 1:
                key = calendar.monthrange(prefix[0], value)[1]
            else:
                key = None
            groups.setdefault(key, []).append(value)
        blocks = []
        for group in groups.values():
            rest = self._range(depth + 1, prefix + (group[0],), None, None, fixed)
            blocks += [[group] + block for block in rest]
        return blocks
