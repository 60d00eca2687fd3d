"""Categorical, boolean and ordinal columns: one token per value."""

import numpy as np

from sdv_llm.schema.codecs.base import ColumnCodec
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
    return (type(value).__name__, value)


class CategoricalCodec(ColumnCodec):
    """One token per distinct value, for ``categorical``, ``boolean`` and ``ordinal`` columns.

    The value set is the metadata's ``range_values`` (when present) followed by the values seen
    in the training data, in order of first appearance. Values keep their Python type, so
    integers, booleans and strings come back as they went in.
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

        for value in list(declared) + list(values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            key = _key(value)
            if key not in seen:
                seen.add(key)
                categories.append(value.item() if isinstance(value, np.generic) else value)

        self.categories = categories
        self._index = {_key(value): i for i, value in enumerate(categories)}

    def _fit_metadata(self):
        """The categories are ``range_values`` (``[False, True]`` for a boolean column)."""
        if self.metadata.get('sdtype') == 'boolean':
            self.metadata.setdefault('range_values', [False, True])
        super()._fit_metadata()

    def _value_tokens(self):
        return [str(value) for value in self.categories]

    def _encode_values(self, values):
        codes = np.fromiter(
            (self._index.get(_key(value), -1) for value in values), dtype=np.int64,
            count=len(values),
        )
        if (codes < 0).any():
            unknown = values.iloc[int(np.argmax(codes < 0))]
            raise ValueError(
                f"Column '{self.column}' has the value {unknown!r}, which is not among the "
                f'{len(self.categories)} categories it was fitted on.'
            )
        return codes[:, None]

    def _decode_values(self, tokens):
        lookup = np.empty(len(self.categories), dtype=object)
        lookup[:] = self.categories
        decoded = lookup[tokens[:, 0]]
        if all(isinstance(value, (bool, np.bool_)) for value in self.categories):
            return decoded.astype(bool)
        return decoded

    def _value_fragment(self):
        return Fragment([{i: EXIT for i in range(len(self.categories))}])

    def text_domain(self):
        return StringDomain(self.column, [str(value) for value in self.categories],
                            list(self.categories),
                            lambda values: self._encode_values(values)[:, 0])
