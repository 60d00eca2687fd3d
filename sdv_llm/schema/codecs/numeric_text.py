"""Numbers stored as text: a categorical column of numeric strings, encoded as numbers."""

import re

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import ColumnCodec
from sdv_llm.schema.codecs.numerical import NumericalCodec
from sdv_llm.schema.fragment import EXIT, Fragment
from sdv_llm.schema.text_domains import StringDomain

_NUMBER = re.compile(r'-?(0|[1-9]\d*)(\.\d+)?')
MAX_OTHER_VALUES = 20
"""Most distinct non-numeric strings (``' '``, ``'n/a'``) a numeric-text column may hold."""


def _written(numbers, style, decimals):
    """The strings of numbers in a column's text style."""
    if style == 'fixed':
        return [f'{x:.{decimals}f}' for x in numbers]
    return [np.format_float_positional(x, trim='-') for x in numbers]


def text_style(values):
    """How a column writes its numbers, when it is a column of numbers stored as text.

    A column qualifies when all but at most ``MAX_OTHER_VALUES`` distinct strings (and at
    least 95 % of the rows) are plain decimal numbers (``-12``, ``3.50``; no exponent, no
    leading zeros or ``+``) that one of two styles writes back exactly: ``'fixed'``, every
    number with the same decimal places (``'29.85'``, ``'20.50'``), or ``'shortest'``, the
    shortest text of each number (``'29.85'``, ``'20.5'``, ``'7'``).

    Args:
        values (pandas.Series): the column's non-missing values.

    Returns:
        tuple or None: ``(style, decimals)``, or None when the column does not qualify.
    """
    strings = values.astype(str)
    numeric = strings.str.fullmatch(_NUMBER.pattern).to_numpy(dtype=bool)
    if not len(strings) or numeric.mean() < 0.95 or \
            strings[~numeric].nunique() > MAX_OTHER_VALUES:
        return None
    texts = pd.unique(strings[numeric])
    places = [len(t.split('.')[1]) if '.' in t else 0 for t in texts]
    numbers = [float(t) for t in texts]
    decimals = max(places)
    for style in ('fixed', 'shortest'):
        if list(texts) == _written(numbers, style, decimals):
            return style, decimals
    return None


class NumericTextCodec(ColumnCodec):
    """A categorical column of numbers stored as text, written as numbers.

    A high-cardinality categorical column would be spelled character by character
    (``CharacterCodec``); when its values are numbers stored as text (``text_style``), they are
    encoded by a ``NumericalCodec`` instead (quantile bin and sub-bin: at most two tokens) and
    decoded back to text in the column's own style, so ``'1889.50'`` stays
    ``'1889.50'``. The few other strings (``' '`` for a missing charge) get a token each.
    Sampled numbers lie in the training range with the column's decimal places. With value
    protection the numbers are clipped to their protected bounds (``NumericalCodec``); the
    other strings are kept.

    Raises (``fit``):
        ValueError: the column does not qualify (``text_style`` returns None).
    """

    sdtypes = ('categorical',)
    random_decode = True

    @property
    def max_length(self):
        return self._numbers.max_length

    def _fit(self, values):
        strings = values.astype(str)
        found = text_style(strings)
        if found is None:
            raise ValueError(f"Column '{self.column}' is not a column of numbers stored as text.")
        self.style, self.decimals = found
        numeric = strings.str.fullmatch(_NUMBER.pattern).to_numpy(dtype=bool)
        self.others = list(pd.unique(strings[~numeric]))
        self._other_index = {value: i for i, value in enumerate(self.others)}
        self._numbers = NumericalCodec(
            self.column, {'sdtype': 'numerical', 'decimal_places': self.decimals}, True,
            self.options).fit(pd.Series(strings[numeric].astype(float).to_numpy()),
                              getattr(self, '_value_protection', None))
        self.protection = self._numbers.protection
        inside = self._numbers._round_trips(pd.Series(strings.where(numeric, '0').astype(float)))
        # the text serializations' value set (numbers beyond the protected bounds left out)
        self._strings = list(pd.unique(strings[~numeric | inside]))

    def _fit_metadata(self):
        raise ValueError(f"Column '{self.column}': numbers stored as text can take values "
                         'outside its range_values; fitted from the metadata, the column is '
                         "spelled by characters instead (CodecOptions.metadata_only).")

    def _value_tokens(self):
        return self.others + self._numbers.tokens

    def _split(self, values):
        strings = pd.Series(values).astype(str).reset_index(drop=True)
        other = strings.map(self._other_index)
        return strings, other.notna().to_numpy()

    def _encode_values(self, values, exact=False):
        strings, is_other = self._split(values)
        codes = np.full((len(strings), self.max_length), -1, dtype=np.int64)
        codes[is_other, 0] = strings[is_other].map(self._other_index).to_numpy(dtype=np.int64)
        numeric = ~is_other
        if numeric.any():
            texts = strings[numeric]
            if not texts.str.fullmatch(_NUMBER.pattern).all():
                unknown = texts[~texts.str.fullmatch(_NUMBER.pattern)].iloc[0]
                raise ValueError(f"Column '{self.column}' has the value {unknown!r}, which is "
                                 'neither a number nor one of its other values.')
            local = self._numbers._encode_values(texts.astype(float), exact)
            codes[numeric, : local.shape[1]] = np.where(local >= 0, local + len(self.others), -1)
        return codes

    def _decode_values(self, tokens, rng=None):
        tokens = np.asarray(tokens, dtype=np.int64)
        out = np.empty(len(tokens), dtype=object)
        is_other = tokens[:, 0] < len(self.others)
        out[is_other] = [self.others[t] for t in tokens[is_other, 0]]
        if (~is_other).any():
            local = tokens[~is_other]
            local = np.where(local >= 0, local - len(self.others), -1)
            numbers = self._numbers._decode_values(local, rng)
            out[~is_other] = _written(np.asarray(numbers, dtype=float), self.style,
                                      self.decimals)
        return out

    def _value_fragment(self):
        inner = self._numbers._value_fragment()
        shift = len(self.others)
        transitions = [{token + shift: target for token, target in state.items()}
                       for state in inner.transitions]
        transitions[0].update({i: EXIT for i in range(shift)})
        return Fragment(transitions, set(inner.merged))

    def _merged_states(self, fragment):
        return self._numbers.merged_states(fragment, self.offset + len(self.others))

    def _round_trips(self, values):
        return self._texts_round_trip(values, self._numbers._round_trips)

    def _texts_round_trip(self, values, numbers_round_trip):
        """Whether each text comes back unchanged, numbers checked by ``numbers_round_trip``."""
        strings, is_other = self._split(values)
        exact = is_other.copy()
        texts = strings[~is_other]
        numeric = texts.str.fullmatch(_NUMBER.pattern).to_numpy(dtype=bool)
        inside = np.zeros(len(texts), dtype=bool)
        if numeric.any():
            numbers = texts[numeric].astype(float)
            written = _written(numbers.to_numpy(), self.style, self.decimals)
            inside[numeric] = numbers_round_trip(numbers) & \
                (np.asarray(written, dtype=object) == texts[numeric].to_numpy())
        exact[~is_other] = inside
        return exact

    def canonical(self, values):
        """The values as the codec decodes them (a known number beyond the protected bounds
        keeps its text)."""
        if self._numbers.protected_range is None:
            return super().canonical(values)
        values = pd.Series(values).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        strings, is_other = self._split(values[~null_mask])
        out = strings.to_numpy(dtype=object)
        numeric = ~is_other
        if numeric.any():
            numbers = self._numbers.canonical(strings[numeric].astype(float)).to_numpy(float)
            out[numeric] = _written(numbers, self.style, self.decimals)
        return self._merge(out, null_mask)

    def _known_round_trips(self, values):
        return self._texts_round_trip(values, self._numbers._known_round_trips)

    def _clipped_text(self, text):
        """A number's text at the nearest protected bound (the text itself inside them)."""
        if text in self._other_index or not _NUMBER.fullmatch(text):
            return text
        scaled = self._numbers._scale(np.array([float(text)]))
        return _written(self._numbers.from_scaled(scaled.astype(np.int64)).astype(float),
                        self.style, self.decimals)[0]

    def text_domain(self):
        index = {value: i for i, value in enumerate(self._strings)}

        def index_of(values):
            try:
                return np.array([index[str(v)] if str(v) in index
                                 else index[self._clipped_text(str(v))] for v in values],
                                dtype=np.int64)
            except KeyError as error:
                raise ValueError(f"Column '{self.column}' has an unknown value {error}.") \
                    from None

        return StringDomain(self.column, list(self._strings), list(self._strings), index_of)
