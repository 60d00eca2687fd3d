"""High-cardinality categorical columns: bounded character sequences over a trie of the values."""

import warnings

import numpy as np
import pandas as pd

from sdv_llm.schema.codecs.base import RARE_TOKEN, ColumnCodec
from sdv_llm.schema.fragment import EXIT, Fragment
from sdv_llm.schema.text_domains import StringDomain

END_TOKEN = '<end>'


class CharacterCodec(ColumnCodec):
    """A string as its characters followed by an end token.

    Used for categorical columns with more than ``max_categories`` distinct values. The
    automaton is the trie of the known values, so the model spells values out character by
    character (sharing what it learns across similar values) and every sampled string is one of
    the values the column may hold. Strings longer than ``max_text_length`` raise ``ValueError``.

    With value protection (``sdv_llm.schema.protection``) the values seen in fewer than the
    column's ``k`` rows (and declared values that are not common in the data) are left out of
    the trie (and of the alphabet) and written as one ``<rare>`` token in training, which
    sampling automata leave out. A column whose every
    value is rare (a near-unique identifier) cannot be protected so: it is kept whole, with a
    ``UserWarning``.
    """

    sdtypes = ('categorical',)

    @property
    def max_length(self):
        return self._longest + 1

    def _fit(self, values):
        strings = [str(value) for value in values]
        declared = [str(value) for value in (self.metadata.get('range_values') or [])]
        hidden = self._rare_strings(strings)
        if self.protection is not None and not self.protection.get('unprotected'):
            # declared values that are not common in the data are hidden too
            declared = [text for text in declared if text in set(strings) - hidden]
        if hidden:
            kept = [text for text in strings if text not in hidden]
            values = values[[text not in hidden for text in strings]]
            strings = kept
            self._hidden = hidden  # until the training rows are encoded
        self.rare_token = bool(hidden)
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

    def _rare_strings(self, strings):
        """The strings value protection hides (an empty set when off); sets ``protection``."""
        protection = getattr(self, '_value_protection', None)
        if protection is None or not strings:
            return set()
        counts = pd.Series(strings, dtype=object).value_counts(sort=False)
        rare = protection.rare(counts, self.column)
        hidden = {text for text, is_rare in zip(counts.index, rare) if is_rare}
        if hidden and rare.all():
            warnings.warn(f"Column '{self.column}': every value is seen in fewer rows than the "
                          'value protection threshold, so its values are kept as they are (not '
                          'protected); declare it as an id or PII column, or drop it.',
                          UserWarning, stacklevel=4)
            self.protection = {'hidden_categories': 0, 'hidden_rows': 0, 'unprotected': True}
            return set()
        self.protection = {'hidden_categories': len(hidden),
                           'hidden_rows': int(counts[list(hidden)].sum()) if hidden else 0}
        return hidden

    @property
    def _rare_id(self):
        return len(self.alphabet) + 1

    def _value_tokens(self):
        return [END_TOKEN] + self.alphabet + ([RARE_TOKEN] if self.rare_token else [])

    def _encode_values(self, values):
        codes = np.full((len(values), self.max_length), -1, dtype=np.int64)
        hidden = getattr(self, '_hidden', ())
        for row, value in enumerate(values):
            text = str(value)
            if text in hidden:
                codes[row, 0] = self._rare_id
                continue
            if len(text) > self._longest or any(char not in self._char_index for char in text):
                raise ValueError(f"Column '{self.column}' has an unknown value {text!r}.")
            codes[row, : len(text)] = [self._char_index[char] for char in text]
            codes[row, len(text)] = 0
        return codes

    def _decode_values(self, tokens):
        lookup = np.array([''] + self.alphabet + [''], dtype=object)  # <rare>: never sampled
        out = []
        for row in tokens:
            end = int(np.argmax((row <= 0) | (row >= self._rare_id)))
            text = ''.join(lookup[row[:end]])
            out.append(self._originals.get(text, text))
        return np.asarray(out, dtype=object)

    def _value_fragment(self):
        fragment = self._visible_fragment()
        if self.rare_token:
            fragment.transitions[0][self._rare_id] = EXIT
        return fragment

    def _present_keys(self, values):
        return [str(value) for value in values]

    def _visible_fragment(self):
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
        rare = len(self.values)

        def index_of(values):
            hidden = getattr(self, '_hidden', ())  # training rows only
            return np.array([rare if str(v) in hidden else index[str(v)] for v in values],
                            np.int64)

        extra = [RARE_TOKEN] if self.rare_token else []
        return StringDomain(self.column, list(self.values) + extra,
                            [self._originals.get(value, value) for value in self.values]
                            + [np.nan] * len(extra), index_of, hidden=len(extra))
