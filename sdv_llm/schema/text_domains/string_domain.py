"""Strings as text: a finite set of values, each written as its string."""

from dataclasses import dataclass

from sdv_llm.schema.text_domains.regex import regex_escape


@dataclass
class StringDomain:
    """A finite set of values written as strings.

    Attributes:
        column (str): for messages.
        strings (list[str]): the text of each value (unquoted).
        values (list): the value each string stands for.
        index_of (callable): raw values (``pandas.Series``) -> int64 index into ``values``;
            raises ``ValueError`` for an unknown value.
        hidden (int): how many of the last strings are never sampled (``<rare>``, the hidden
            values of value protection, written in training only). Default 0.
    """

    column: str
    strings: list
    values: list
    index_of: object
    hidden: int = 0
    quoted = True
    ranged = False

    def __post_init__(self):
        seen = set()
        for string in self.strings:
            if string in seen:
                raise ValueError(f"Column '{self.column}' has two values written as {string!r}; "
                                 "use serialization='compact'.")
            seen.add(string)

    def to_text(self, values):
        """Unquoted strings of raw values (a ``pandas.Series`` without missing values)."""
        return [self.strings[i] for i in self.index_of(values)]

    def _written(self, fmt):
        """The text of each value in a row of ``fmt`` (``fmt.literal``)."""
        return [fmt.literal(s, v) for s, v in zip(self.strings, self.values)]

    def write(self, fmt, values):
        """Texts of raw values as they appear in a row of ``fmt`` (quoted where needed)."""
        written = self._written(fmt)
        return [written[i] for i in self.index_of(values)]

    def parse(self, fmt, texts):
        """Values of texts written by :meth:`write`."""
        lookup = dict(zip(self._written(fmt), self.values))
        return [lookup[t] for t in texts]

    def describe(self, max_values=12):
        """``'one of a, b, ...'``: the first ``max_values`` values."""
        visible = self.strings[:len(self.strings) - self.hidden]
        shown = visible[:max_values]
        return 'one of ' + ', '.join(shown) + (', ...' if len(visible) > max_values else '')

    def patterns(self, fmt):
        """Regexes of the texts of every value in a row of ``fmt``."""
        return [regex_escape(t) for t in self._written(fmt)]

    def visible_patterns(self, fmt):
        """Regexes of the texts of every value sampling may write (``hidden`` ones left out)."""
        patterns = self.patterns(fmt)
        return patterns[:len(patterns) - self.hidden]
