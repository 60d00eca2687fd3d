"""Datetime columns: whole time units since the earliest allowed datetime, written as digits."""

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import ColumnCodec
from sdv_llm.schema.codecs.numerical import NumericalCodec
from sdv_llm.schema.protection import clip_counts
from sdv_llm.schema.text_domains import DateDomain, NumberDomain

_UNITS = (('D', 86_400), ('h', 3_600), ('m', 60), ('s', 1))

_FORMAT_UNITS = (('s', ('%S', '%T', '%X', '%c', '%s', '%f')), ('m', ('%M', '%R')),
                 ('h', ('%H', '%I', '%p')))
"""The finest ``strftime`` field of a format, finest first: its unit (days otherwise)."""


def format_unit(datetime_format):
    """The time unit a ``datetime_format`` writes: ``'s'``, ``'m'``, ``'h'`` or ``'D'``.

    Sub-second fields (``%f``) are read as seconds: the codec counts whole seconds.
    """
    for unit, fields in _FORMAT_UNITS:
        if any(field in datetime_format for field in fields):
            return unit
    return 'D'


class DatetimeCodec(ColumnCodec):
    """A datetime as the number of whole units (days, hours, minutes or seconds) after a base.

    The unit is the coarsest one that every training value is a whole multiple of; the base is the
    earliest of ``range_min`` and the training values. The count is written by a
    ``NumericalCodec``, so the automaton bounds it to ``[range_min, range_max]`` the same way.
    Values are parsed and written back with the metadata's ``datetime_format``; columns that
    arrive as ``datetime64`` come back as ``datetime64``. With value protection
    (``sdv_llm.schema.protection``) the training datetimes are clipped to their ``k``-th
    earliest and latest before the base is chosen, so neither the earliest datetime (the base)
    nor the latest is learned or stored; the metadata's ``range_min`` and ``range_max`` do not
    widen the range then (SDV's metadata detection writes the data's extremes there).
    """

    sdtypes = ('datetime',)
    random_decode = True

    @property
    def max_length(self):
        return self._numbers.max_length

    def _parse(self, values):
        if pd.api.types.is_datetime64_any_dtype(values):
            return pd.to_datetime(values)
        fmt = self.metadata.get('datetime_format')
        try:
            return pd.to_datetime(values, format=fmt)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"Column '{self.column}' has values that do not match its datetime_format "
                f'{fmt!r}: {error}'
            ) from error

    def _seconds(self, values):
        parsed = self._parse(values)
        return (parsed - pd.Timestamp('1970-01-01')).dt.total_seconds().to_numpy()

    def _fit(self, values):
        self.native = pd.api.types.is_datetime64_any_dtype(values)
        self.format = self.metadata.get('datetime_format')
        seconds = self._seconds(values)
        protection = getattr(self, '_value_protection', None)
        finite = seconds[np.isfinite(seconds)]
        protected = None
        if protection is not None and len(finite):
            protected = protection.bounds(finite, self.column)
            seconds = np.clip(seconds, *protected)
        bounds = [self.metadata.get(key) for key in ('range_min', 'range_max')]
        bounds = [b for b in bounds if b is not None and protected is None]
        bound_seconds = self._seconds(pd.Series(bounds)) if bounds else np.array([])
        every = np.concatenate([seconds, bound_seconds])
        self.unit, self.unit_seconds = 's', 1
        for name, size in _UNITS:
            if len(every) == 0 or np.all(np.mod(every, size) == 0):
                self.unit, self.unit_seconds = name, size
                break

        self.base = float(every.min()) if len(every) else 0.0
        counts = (every - self.base) / self.unit_seconds
        metadata = {'sdtype': 'numerical', 'decimal_places': 0}
        if len(bound_seconds):
            metadata['range_min'] = float((bound_seconds.min() - self.base) / self.unit_seconds)
            metadata['range_max'] = float((bound_seconds.max() - self.base) / self.unit_seconds)
        self._numbers = NumericalCodec(self.column, metadata, self.enforce_min_max_values,
                                       self.options)
        # The counts are clipped already; protecting them again (same k) only sets the
        # inner codec's protected range, which conditions are checked against.
        self._numbers.fit(pd.Series(np.round(counts).astype(np.int64)), protection)
        if protected is not None:
            self.protection = clip_counts(finite, protected)
            declared = [self.metadata.get(key) for key in ('range_min', 'range_max')]
            units = [None if b is None else (self._seconds(pd.Series([b]))[0] - self.base)
                     / self.unit_seconds for b in declared]
            self._numbers.known_range = self._numbers.widened_range(
                self._numbers.protected_range, *units)

    def _fit_metadata(self):
        """Base, unit and range from ``range_min``, ``range_max`` and ``datetime_format``.

        The unit is the finest field of the format (``format_unit``); a ``datetime64``
        column without a format takes the coarsest unit both bounds are whole multiples of.
        Training values are counted in that unit (finer parts are rounded away).

        Raises:
            ValueError: a key is missing (named), or the bounds do not parse or are reversed.
        """
        from sdv_llm.schema.metadata_only import missing_keys, missing_message

        keys = missing_keys(self.metadata, self.dtype)
        if keys:
            raise ValueError(missing_message(self.column, self.metadata, keys))
        self.native = self.dtype is not None and pd.api.types.is_datetime64_any_dtype(
            self.dtype)
        self.format = self.metadata.get('datetime_format')
        bounds = self._seconds(pd.Series([self.metadata['range_min'],
                                          self.metadata['range_max']]))
        if not np.all(np.isfinite(bounds)) or bounds[0] > bounds[1]:
            raise ValueError(f"Column '{self.column}' has the metadata range "
                             f"[{self.metadata['range_min']}, {self.metadata['range_max']}], "
                             'which holds no datetime.')
        sizes = dict(_UNITS)
        if self.format:
            self.unit = format_unit(self.format)
        else:
            self.unit = next(name for name, size in _UNITS
                             if np.all(np.mod(bounds, size) == 0) or size == 1)
        self.unit_seconds = sizes[self.unit]
        self.base = float(np.floor(bounds[0] / self.unit_seconds) * self.unit_seconds)
        top = float(np.ceil((bounds[1] - self.base) / self.unit_seconds))
        metadata = {'sdtype': 'numerical', 'decimal_places': 0, 'range_min': 0.0,
                    'range_max': top, 'range_is_nullable': False}
        self._numbers = NumericalCodec(self.column, metadata, self.enforce_min_max_values,
                                       self.options).fit_metadata(np.dtype('int64'))

    def _value_tokens(self):
        return self._numbers.tokens

    def _present_keys(self, values):
        return [f'u:{count}' for count in self._counts(values)]

    def _counts(self, values):
        return np.round((self._seconds(values) - self.base) / self.unit_seconds).astype(np.int64)

    def _encode_values(self, values, exact=False):
        return self._numbers._encode_values(pd.Series(self._counts(values)), exact)

    def _decode_values(self, tokens, rng=None):
        return self._from_counts(self._numbers._decode_values(tokens, rng))

    def _from_counts(self, counts):
        """Datetimes (or formatted strings) of whole units after the base."""
        stamps = self._stamps(counts)
        if self.native or not self.format:
            return stamps
        return np.asarray(stamps.strftime(self.format), dtype=object)

    def _merged_states(self, fragment):
        return self._numbers.merged_states(fragment, self.offset)

    def _value_fragment(self):
        return self._numbers._value_fragment()

    def text_domain(self):
        """The text serializations' values: datetimes in the column's ``datetime_format``.

        A ``DateDomain`` when the format can write every unit exactly (fields ``%Y %m %d``
        and, for finer units, ``%H %M %S``); ISO 8601 (``%Y-%m-%d``, with ``%H:%M:%S`` below
        days) for ``datetime64`` columns without a format; otherwise a ``NumberDomain`` of
        whole units after the base.
        """
        low, high = self._numbers._bounds()

        def scaled_range(low_value, high_value):
            bounds = [None if b is None else float(self._offset_units(b))
                      for b in (low_value, high_value)]
            return self._numbers.scaled_range(*bounds)

        def to_counts(values):
            return self._numbers.to_scaled(self._counts(values))

        fmt = self.format or (None if not self.native else
                              '%Y-%m-%d' if self.unit == 'D' else '%Y-%m-%d %H:%M:%S')
        if fmt:
            try:
                return DateDomain(fmt, self.unit, low, high, to_counts, self._from_counts,
                                  scaled_range, self._stamps)
            except ValueError:
                pass   # the format cannot write every unit exactly: unit counts below
        return NumberDomain(0, low, high, to_counts, self._from_counts, scaled_range)

    def _stamps(self, counts):
        """``pandas.DatetimeIndex`` of whole units after the base."""
        counts = np.asarray(counts).astype(np.int64)
        return pd.to_datetime(self.base + counts * self.unit_seconds, unit='s')

    def range_fragment(self, low, high, seen_only=False):
        bounds = [None if b is None else float(self._offset_units(b)) for b in (low, high)]
        return self._shifted(self._numbers._value_fragment(*self._numbers.scaled_range(*bounds)))

    def _offset_units(self, value):
        """Time units from the base to ``value`` (a datetime or a string in the format)."""
        return (self._seconds(pd.Series([value]))[0] - self.base) / self.unit_seconds

    def _round_trips(self, values):
        units = (self._seconds(values) - self.base) / self.unit_seconds
        return self._numbers._round_trips(pd.Series(units))

    def canonical(self, values):
        """The values as the codec decodes them (a known datetime beyond the protected bounds
        keeps its value, at the column's unit)."""
        if self._numbers.protected_range is None:
            return super().canonical(values)
        values = pd.Series(values).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        counts = self._counts(values[~null_mask])
        return self._merge(self._from_counts(counts), null_mask)

    def _known_round_trips(self, values):
        units = (self._seconds(values) - self.base) / self.unit_seconds
        return self._numbers._known_round_trips(pd.Series(units))
