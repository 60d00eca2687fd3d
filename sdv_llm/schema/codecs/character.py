"""High-cardinality categorical columns: bounded character sequences over a trie of the values."""

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import ColumnCodec
from sdv_llm.schema.fragment import EXIT, Fragment
from sdv_llm.schema.text_domains import StringDomain

END_TOKEN = '<end>'


class CharacterCodec(ColumnCodec):
    """A string as its characters followed by an end token.

    Used for categorical columns with more than ``max_categories`` distinct values. The
    automaton is the trie of the known values, so the model spells values out character by
    character (sharing what it learns across similar values) and every sampled string is one of
    the values the column may hold. Strings longer than ``max_text_length`` raise ``ValueError``.
    """

    sdtypes = ('categorical',)

    @property
    def max_length(self):
        return self._longest + 1

    def _fit(self, values):
        strings = [str(value) for value in values]
        declared = [str(value) for value in (self.metadata.get('range_values') or [])]
        self.values = list(dict.fromkeys(declared + strings))
        self._longest = max((len(value) for value in self.values), default=0)
        if self._longest > self.options.max_text_length:
            raise ValueError(
                f"Column '{self.column}' has a value of {self._longest} characters; the limit is "
                f'max_text_length={self.options.max_text_length}.'
            )
        self.alphabet = sorted({char for value in self.values for char in value})
        self._char_index = {char: i + 1 for i, char in enumerate(self.alphabet)}
        self._originals = {str(value): value for value in list(pd.unique(values))}

    def _value_tokens(self):
        return [END_TOKEN] + self.alphabet

    def _encode_values(self, values):
        codes = np.full((len(values), self.max_length), -1, dtype=np.int64)
        for row, value in enumerate(values):
            text = str(value)
            if len(text) > self._longest or any(char not in self._char_index for char in text):
                raise ValueError(f"Column '{self.column}' has an unknown value {text!r}.")
            codes[row, : len(text)] = [self._char_index[char] for char in text]
            codes[row, len(text)] = 0
        return codes

    def _decode_values(self, tokens):
        lookup = np.array([''] + self.alphabet, dtype=object)
        out = []
        for row in tokens:
            end = int(np.argmax(row <= 0))
            text = ''.join(lookup[row[:end]])
            out.append(self._originals.get(text, text))
        return np.asarray(out, dtype=object)

    def _value_fragment(self):
        fragment = Fragment()
        for value in self.values:
            state = 0
            for char in value:
                token = self._char_index[char]
                nxt = fragment.transitions[state].get(token)
                if nxt is None:
                    nxt = fragment.add_state()
                    fragment.transitions[state][token] = nxt
                state = nxt
            fragment.transitions[state][0] = EXIT
        return fragment

    def text_domain(self):
        index = {value: i for i, value in enumerate(self.values)}
        return StringDomain(self.column, list(self.values),
                            [self._originals.get(value, value) for value in self.values],
                            lambda values: np.array([index[str(v)] for v in values], np.int64))
