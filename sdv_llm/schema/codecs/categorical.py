"""Categorical, boolean and ordinal columns: one token per value."""

import warnings

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import RARE_TOKEN, ColumnCodec
from sdv_llm.schema.fragment import EXIT, Fragment
from sdv_llm.schema.text_domains import StringDomain


def _key(value):
    """A hashable key that tells ``1``, ``1.0``, ``'1'`` and ``True`` apart."""
    if isinstance(value, (bool, np.bool_)):
        return ('bool', bool(value))
    if isinstance(value, (int, np.integer)):
        return ('num', float(value))
    if isinstance(value, (float, np.floating)):
        return ('num', float(value))
    if isinstance(value, str):  # numpy.str_ too
        return ('str', str(value))
    return (type(value).__name__, value)


class CategoricalCodec(ColumnCodec):
    """One token per distinct value, for ``categorical``, ``boolean`` and ``ordinal`` columns.

    The value set is the metadata's ``range_values`` (when present) followed by the values seen
    in the training data, in order of first appearance. Values keep their Python type, so
    integers, booleans and strings come back as they went in.

    With value protection (``sdv_llm.schema.protection``), the data values seen in fewer than
    the column's ``k`` rows are left out of ``categories`` and written as one ``<rare>`` token
    (the last local token) in training; sampling automata leave that token out. The
    metadata's ``range_values`` then add no value that is not common in the data (SDV's
    metadata detection writes every data value there). Boolean columns are not protected.
    """

    sdtypes = ('categorical', 'boolean', 'ordinal')

    @property
    def max_length(self):
        return 1

    def _fit(self, values):
        categories = []
        seen = set()
        declared = self.metadata.get('range_values') or []
        if self.metadata.get('sdtype') == 'boolean' and not declared:
            declared = [False, True] if values.dtype == bool else []

        hidden, common = self._rare_keys(values)
        if common is not None:  # declared values that are not common in the data are hidden
            declared = [value for value in declared if _key(value) in common]
        for value in list(declared) + list(values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            key = _key(value)
            if key not in seen and key not in hidden:
                seen.add(key)
                categories.append(value.item() if isinstance(value, np.generic) else value)

        self.categories = categories
        self._index = {_key(value): i for i, value in enumerate(categories)}
        self.rare_token = bool(hidden)
        if hidden:
            self._hidden = hidden  # until the training rows are encoded

    def _rare_keys(self, values):
        """The keys of the data values value protection hides, and of the common ones.

        Sets ``self.protection`` (counts of hidden categories and of their rows); a column
        whose every data value is rare is left unprotected, with a ``UserWarning``.

        Returns:
            tuple: ``(hidden, common)`` sets of keys; ``(set(), None)`` without protection.
        """
        protection = getattr(self, '_value_protection', None)
        if protection is None or self.metadata.get('sdtype') == 'boolean' or not len(values):
            return set(), None
        keys = pd.Series([_key(value) for value in values], dtype=object)
        counts = keys.value_counts(sort=False)
        rare = protection.rare(counts, self.column)
        hidden = {key for key, is_rare in zip(counts.index, rare) if is_rare}
        common = {key for key, is_rare in zip(counts.index, rare) if not is_rare}
        if hidden and not common:
            warnings.warn(f"Column '{self.column}': every value is seen in fewer rows than the "
                          'value protection threshold, so its values are kept as they are (not '
                          'protected); declare it as an id or PII column, or drop it.',
                          UserWarning, stacklevel=4)
            self.protection = {'hidden_categories': 0, 'hidden_rows': 0, 'unprotected': True}
            return set(), None
        self.protection = {'hidden_categories': len(hidden),
                           'hidden_rows': int(counts[list(hidden)].sum()) if hidden else 0}
        return hidden, common

    def _fit_metadata(self):
        """The categories are ``range_values`` (``[False, True]`` for a boolean column)."""
        if self.metadata.get('sdtype') == 'boolean':
            self.metadata.setdefault('range_values', [False, True])
        super()._fit_metadata()

    def _value_tokens(self):
        return [str(value) for value in self.categories] + ([RARE_TOKEN] if self.rare_token
                                                            else [])

    def _encode_values(self, values):
        hidden = getattr(self, '_hidden', ())
        rare = len(self.categories)
        codes = np.fromiter(
            (self._index.get(key, rare if key in hidden else -1)
             for key in map(_key, values)), dtype=np.int64, count=len(values),
        )
        if (codes < 0).any():
            unknown = values.iloc[int(np.argmax(codes < 0))]
            raise ValueError(
                f"Column '{self.column}' has the value {unknown!r}, which is not among the "
                f'{len(self.categories)} categories it was fitted on.'
            )
        return codes[:, None]

    def _decode_values(self, tokens):
        lookup = np.empty(len(self.categories) + 1, dtype=object)  # <rare>: never sampled
        lookup[:-1] = self.categories
        lookup[-1] = np.nan
        decoded = lookup[np.clip(tokens[:, 0], 0, len(self.categories))]
        if all(isinstance(value, (bool, np.bool_)) for value in self.categories):
            return decoded.astype(bool)
        return decoded

    def _value_fragment(self):
        return Fragment([{i: EXIT for i in range(len(self.categories) + self.rare_token)}])

    def _visible_fragment(self):
        return Fragment([{i: EXIT for i in range(len(self.categories))}])

    def _present_keys(self, values):
        values = np.asarray(values, dtype=object)
        if len(set(map(type, values))) == 1:
            # One Python type (sampled values, most columns): equal values are equal keys, so
            # a key per distinct value is enough; pandas finds the distinct values in C.
            codes, uniques = pd.factorize(values)
            return np.array([repr(_key(value)) for value in uniques], dtype=object)[codes]
        keys = {}  # one repr per distinct (type, value): a column repeats few values
        out = []
        for value in values:
            typed = (value.__class__, value)
            key = keys.get(typed)
            if key is None:
                key = keys[typed] = repr(_key(value))
            out.append(key)
        return out

    def text_domain(self):
        rare = [RARE_TOKEN] if self.rare_token else []
        return StringDomain(self.column, [str(value) for value in self.categories] + rare,
                            list(self.categories) + [np.nan] * len(rare),
                            lambda values: self._encode_values(values)[:, 0],
                            hidden=len(rare))
