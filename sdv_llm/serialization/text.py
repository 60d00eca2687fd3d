"""Text serializations for pretrained tokenizers: GReaT-style sentences, JSON objects, CSV lines.

A row is a prompt (``<bos>`` and the format's fixed prefix: ``{`` for JSON, the header line for
CSV, optionally an instruction preamble built from the metadata), then one *clause* per column
in the row's column order, then ``<eos>``::

    text: age is 39, workclass is State-gov, income is "<=50K"\\n
    json: {"age": 39, "workclass": "State-gov", "income": "<=50K"}\\n
    csv:  age,workclass,income\\n39,State-gov,<=50K\\n

Each clause ends with a terminator: the separator, or the row's end for the last column, so
every clause language is prefix-free and a row's grammar is the concatenation of clause
automata (``sdv_llm.decoding.text_automaton``). Values are written by the column codecs'
text domains (``sdv_llm.schema.text_domains``) and quoted by the format so that separators,
quotes and newlines inside values never end a clause; every format round-trips exactly.

Clauses are tokenized one by one (the canonical tokenization of each clause), both for
training and for the forced tokens of conditions, so no token spans two clauses.
"""

import json
import math

import numpy as np
import pandas as pd

from sdv_llm.schema.text_domains.regex import alternation, regex_escape
from sdv_llm.serialization.base import EncodedRows, Serializer, holes_last


class TextFormat:
    """How a row is written: the clause of each column, quoting, the missing-value text.

    Attributes:
        name (str): the ``serialization`` name.
        separator (str): ends every clause but the last.
        end (str): ends the last clause (the row).
        null (str): the text of a missing value.
        fixed_order (bool): rows must keep the table's column order (CSV: the header fixes it).
    """

    name = None
    separator = ', '
    end = '\n'
    null = 'None'
    fixed_order = False

    def prefix(self, columns):
        """Text between ``<bos>`` and the first clause."""
        return ''

    def label(self, column):
        """Text before a column's value."""
        raise NotImplementedError

    def quote(self, string):
        """A string value as written in a row."""
        raise NotImplementedError

    def literal(self, string, value):
        """A value of a finite set as written in a row.

        Args:
            string (str): the value's text (``str(value)`` for booleans and numbers).
            value: the value itself (``bool``, ``int``, ``float``, ``str``, ...).

        Returns:
            str: ``quote(string)``; JSON writes booleans and numbers bare (see ``JSONFormat``).
        """
        return self.quote(string)


class SentenceFormat(TextFormat):
    """``age is 39, workclass is State-gov`` (GReaT, Borisov et al., 2023).

    Strings that hold a separator, quote, backslash or newline, that are empty, that have
    surrounding spaces or that read as the missing value ``None`` are written as JSON strings.
    """

    name = 'text'

    def label(self, column):
        return f'{column} is '

    def quote(self, string):
        if (string in ('', self.null) or string != string.strip() or string.startswith('"')
                or any(char in string for char in ',\\\n\r')):
            return json.dumps(string, ensure_ascii=False)
        return string


class JSONFormat(TextFormat):
    """``{"age": 39, "married": true, "workclass": "State-gov"}``: one JSON object per row.

    Numbers, booleans (also as categories) and ``null`` for a missing value are JSON literals;
    every other value is a JSON string.
    """

    name = 'json'
    end = '}\n'
    null = 'null'

    def prefix(self, columns):
        return '{'

    def label(self, column):
        return json.dumps(str(column), ensure_ascii=False) + ': '

    def quote(self, string):
        return json.dumps(string, ensure_ascii=False)

    def literal(self, string, value):
        """JSON literals for booleans and finite numbers (``true``, ``3``), else a string."""
        if isinstance(value, (bool, int, float)) and math.isfinite(value):
            return json.dumps(value)
        return self.quote(string)


class CSVFormat(TextFormat):
    """``39,State-gov`` under a header line (RFC 4180 quoting); an empty field is missing."""

    name = 'csv'
    separator = ','
    null = ''
    fixed_order = True

    def prefix(self, columns):
        return ','.join(self.quote(str(c)) if str(c) else '""' for c in columns) + '\n'

    def label(self, column):
        return ''

    def quote(self, string):
        if string == '' or any(char in string for char in ',"\n\r'):
            return '"' + string.replace('"', '""') + '"'
        return string


FORMATS = {f.name: f for f in (SentenceFormat, JSONFormat, CSVFormat)}


def preamble(schema, table_name=None, max_values=12):
    """An instruction preamble from the metadata: table, columns, sdtypes and ranges.

    Args:
        schema (TableSchema): fitted codecs.
        table_name (str or None): named in the first line when given.
        max_values (int): categories listed per column before ``...``.

    Returns:
        str: ending with a newline.
    """
    lines = [f'Rows of the table {table_name}.' if table_name else 'Rows of a table.']
    for column in schema.order:
        codec = schema.codecs[column]
        domain = codec.text_domain()
        lines.append(f"- {column} ({codec.metadata.get('sdtype')}): "
                     f'{domain.describe(max_values)}')
    return '\n'.join(lines) + '\n'


class TextSerializer(Serializer):
    """Rows as text in one of ``FORMATS``, tokenized by a pretrained tokenizer.

    Args:
        schema (TableSchema): fitted codecs and base column order.
        tokenizer (transformers.PreTrainedTokenizerBase): the backbone's tokenizer.
        format (str or TextFormat): ``'text'``, ``'json'``, ``'csv'``, or a format instance
            (a plugin's own, as ``tests/serialization/test_toy_tsv.py`` registers).
        vocab_size (int or None): width of the model's logits (at least the tokenizer's size).
        preamble (str or None): instruction text put before the format's prefix; part of the
            prompt, never trained on.

    Attributes:
        prompt (numpy.ndarray): int64 ``(prompt_length,)``: ``<bos>``, then the preamble and
            the format's prefix.
        bos, eos, pad (int): special token ids (``pad`` is ``eos`` when the tokenizer has none).
        domains (dict[str, StringDomain, NumberDomain or DateDomain]): each column's text values.

    Raises:
        ValueError: an unknown format, a tokenizer without an end-of-sequence token, or a
            column whose codec has no text form.
    """

    special_tokens = ()

    def __init__(self, schema, tokenizer, format='text', vocab_size=None, preamble=None):
        if isinstance(format, str) and format not in FORMATS:
            raise ValueError(f'Unknown text format {format!r}; available: {sorted(FORMATS)}.')
        if tokenizer.eos_token_id is None:
            raise ValueError('The tokenizer has no end-of-sequence token (eos_token).')
        self.schema = schema
        self.tokenizer = tokenizer
        self.format = FORMATS[format]() if isinstance(format, str) else format
        self.name = self.format.name
        self.eos = int(tokenizer.eos_token_id)
        self.bos = int(tokenizer.bos_token_id if tokenizer.bos_token_id is not None
                       else self.eos)
        self.pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None
                       else self.eos)
        self.vocab_size = max(len(tokenizer), int(vocab_size or 0))
        self.domains = {column: schema.codecs[column].text_domain() for column in schema.order}
        self.preamble = preamble or ''
        prompt_text = self.preamble + self.format.prefix(schema.order)
        self.prompt = np.array([self.bos] + self._tokenize([prompt_text])[0], dtype=np.int64)
        self.max_length = None  # the grammar's longest valid sequence (``bind``)

    @classmethod
    def create(cls, schema, context):
        """A serializer of the format ``context.name`` with the backbone's tokenizer.

        Raises:
            ValueError: no tokenizer in ``context`` (an embedded backbone), or see the class.
        """
        if context.tokenizer is None:
            raise ValueError(f"serialization={context.name!r} needs a pretrained backbone's "
                             'tokenizer: set backbone to a local Hugging Face model directory, '
                             "or use serialization='compact'.")
        return cls(schema, context.tokenizer, format=context.name,
                   vocab_size=context.vocab_size, preamble=context.preamble)

    def bind(self, automaton):
        """Take the longest valid sequence from the compiled grammar
        (``TextTokenAutomaton.max_length``)."""
        self.max_length = automaton.max_length

    # ----------------------------------------------------------------- geometry
    @property
    def fixed_order(self):
        """Whether every row must be written in the base column order (CSV)."""
        return self.format.fixed_order

    def _tokenize(self, texts):
        if not texts:
            return []
        return [list(ids) for ids in
                self.tokenizer(list(texts), add_special_tokens=False)['input_ids']]

    # ------------------------------------------------------------------ grammar
    def clause_regex(self, column, last, value_patterns=None, allow_null=True, capture=False):
        """The regex of one clause: label, value, terminator.

        Args:
            column (str): the column.
            last (bool): the last clause of the row (ends the row instead of separating).
            value_patterns (list[str] or None): regexes of the allowed value texts (default:
                every value of the column).
            allow_null (bool): whether the missing value is allowed (when the column had
                missing values).
            capture (bool): put the value in a capture group (for parsing with ``re``).

        Returns:
            str
        """
        codec = self.schema.codecs[column]
        if value_patterns is None:
            value_patterns = [] if codec.only_null else self.domains[column].patterns(self.format)
        if allow_null and codec.nullable:
            value_patterns = list(value_patterns) + [regex_escape(self.format.null)]
        terminator = self.format.end if last else self.format.separator
        value = alternation(value_patterns)
        return (regex_escape(self.format.label(column)) + (f'({value})' if capture else value)
                + regex_escape(terminator))

    def restriction(self, column, kind, spec):
        """Value regexes of a condition on one column (``None``: no restriction needed).

        Args:
            column (str): the column.
            kind (str): ``'values'``, ``'range'``, ``'present'`` (any value but missing) or
                ``'visible'`` (any value sampling may write: hidden values left out, see
                ``ColumnCodec.sampling_fragment``).
            spec (tuple): ``(values,)`` or ``(low, high)``.

        Returns:
            tuple or None: ``(value_patterns, allow_null)``.

        Raises:
            ValueError: a value the column cannot take, a range on a string column, or an
                empty range (the column is named).
        """
        codec = self.schema.codecs[column]
        domain = self.domains[column]
        hidden = bool(getattr(domain, 'hidden', 0)) and not codec.only_null
        if kind == 'visible':
            return (domain.visible_patterns(self.format), codec.nullable) if hidden else None
        if kind == 'present':
            if not codec.nullable or codec.only_null:
                return None
            if hidden:
                return domain.visible_patterns(self.format), False
            return domain.patterns(self.format), False
        if kind == 'values':
            values = pd.Series(list(spec[0]), dtype=object)
            if len(values) == 0:
                raise ValueError(f"The condition on column '{column}' lists no values.")
            codec.check_values(values)
            present = values[values.notna()]
            texts = domain.write(self.format, present) if len(present) else []
            return [regex_escape(t) for t in texts], bool(values.isna().any())
        if not domain.ranged:
            codec.range_fragment(*spec)  # raises the codec's message for string columns
        low, high = domain.scaled_range(*spec)
        patterns = domain.patterns(self.format, low, high)
        if not patterns:
            raise ValueError(f"Column '{column}' has no value in the requested range.")
        return patterns, False

    # ----------------------------------------------------------------- encoding
    def _clause_texts(self, column, values, last):
        codec = self.schema.codecs[column]
        domain = self.domains[column]
        values = pd.Series(values).reset_index(drop=True)
        null = values.isna().to_numpy()
        if null.any() and not codec.nullable:
            raise ValueError(f"Column '{column}' has missing values, but had none when the "
                             'synthesizer was fitted.')
        texts = np.full(len(values), self.format.null, dtype=object)
        if (~null).any():
            texts[~null] = domain.write(self.format, values[~null])
        terminator = self.format.end if last else self.format.separator
        label = self.format.label(column)
        return [label + t + terminator for t in texts]

    def value_block(self, column, values, last=False):
        """Token ids of one column's clauses, each clause tokenized on its own.

        Args:
            column (str): the column.
            values (pandas.Series): ``n`` raw values (NaN for missing).
            last (bool): the clause variant that ends the row.

        Returns:
            numpy.ndarray: int64 ``(n, width)``, ``-1`` padded.
        """
        texts = self._clause_texts(column, values, last)
        unique, inverse = np.unique(np.asarray(texts, dtype=object).astype(str),
                                    return_inverse=True)
        tokens = self._tokenize(list(unique))
        width = max((len(t) for t in tokens), default=0)
        table = np.full((len(unique), max(width, 1)), -1, dtype=np.int64)
        for i, ids in enumerate(tokens):
            table[i, :len(ids)] = ids
        return table[inverse.reshape(-1)]

    def encode_blocks(self, data, columns=None):
        """Each column's clause blocks: ``(separator variant, last variant)`` pairs.

        Args:
            data (pandas.DataFrame): ``n`` rows.
            columns (list[str] or None): which columns (default the base order).

        Returns:
            list[tuple[numpy.ndarray, numpy.ndarray]]
        """
        return [(self.value_block(c, data[c]), self.value_block(c, data[c], last=True))
                for c in columns or self.schema.order]

    def row_encoder(self, blocks, orders):
        """``Serializer.row_encoder``: clauses, each token's column from ``assemble``."""
        length = (len(self.prompt) + 1
                  + sum(max(middle.shape[1], last.shape[1]) for middle, last in blocks))

        def encode_rows(index, rng):
            ids, columns = self.assemble([(middle[index], last[index])
                                          for middle, last in blocks], orders(len(index), rng))
            return EncodedRows(ids[:, :length], None, columns[:, :length - 1])

        return encode_rows

    def assemble(self, blocks, orders=None):
        """Join clause blocks into sequences, each row in its own column order.

        Args:
            blocks (list[tuple]): from ``encode_blocks``, base order.
            orders (numpy.ndarray or None): int ``(n, num_columns)``.

        Returns:
            tuple: ``(ids, next_columns)``, int64 ``(n, length)`` each: the prompt, the
            clauses, ``<eos>``, then padding; and for each token after ``<bos>`` (aligned with
            ``ids[:, 1:]``) the column its clause belongs to (``num_columns + 1 + k`` for the
            last clause of column ``k``, ``num_columns`` for ``<eos>`` and padding).
        """
        n = len(blocks[0][0])
        num_columns = self.num_columns
        last_column = (np.full(n, num_columns - 1) if orders is None
                       else np.asarray(orders)[:, -1])
        chosen, labels = [], []
        for k, (middle, last) in enumerate(blocks):
            width = max(middle.shape[1], last.shape[1])
            middle = np.pad(middle, ((0, 0), (0, width - middle.shape[1])), constant_values=-1)
            last = np.pad(last, ((0, 0), (0, width - last.shape[1])), constant_values=-1)
            is_last = (last_column == k)[:, None]
            block = np.where(is_last, last, middle)
            chosen.append(block)
            labels.append(np.where(block >= 0, np.where(is_last, num_columns + 1 + k, k), -1))
        body = self.join(chosen, orders)
        body_columns = self.join(labels, orders)
        prompt = np.broadcast_to(self.prompt, (n, len(self.prompt)))
        eos = np.full((n, 1), self.eos, dtype=np.int64)
        ids = np.concatenate([prompt, body, eos], axis=1)
        holes = np.concatenate([np.zeros_like(prompt, dtype=bool), body < 0,
                                np.zeros((n, 1), dtype=bool)], axis=1)
        ids = holes_last(np.where(holes, -1, ids), self.pad)
        columns = np.concatenate([np.full_like(prompt[:, 1:], num_columns), body_columns,
                                  np.full((n, 1), num_columns)], axis=1)
        columns = holes_last(columns, num_columns)
        return ids, columns

    # ----------------------------------------------------------------- decoding
    def _parsers(self):
        import re

        if getattr(self, '_compiled', None) is None:
            self._compiled = {}
            for column in self.schema.order:
                for last in (False, True):
                    self._compiled[column, last] = re.compile(
                        self.clause_regex(column, last, capture=True), re.DOTALL)
        return self._compiled

    def parse_clause(self, column, text, last):
        """The value of one clause's text (label, value and separator or row end).

        Args:
            column (str): the clause's column.
            text (str): the clause.
            last (bool): the row-end variant.

        Returns:
            The value, or ``None`` for a missing value or a text that is not the clause.
        """
        match = self._parsers()[column, last].fullmatch(text)
        if match is None or match.group(1) == self.format.null:
            return None
        return self.domains[column].parse(self.format, [match.group(1)])[0]

    def parse_text(self, texts, orders=None):
        """Values of row texts (without prompt), each row in its column order.

        Args:
            texts (list[str]): one text per row, clauses only.
            orders (numpy.ndarray or None): int ``(n, num_columns)`` column order of each row
                (default the base order).

        Returns:
            pandas.DataFrame: ``n`` rows, columns in the base order.

        Raises:
            ValueError: a text that is not a row of this grammar (the row and column named).
        """
        parsers = self._parsers()
        order = self.schema.order
        raw = {column: [None] * len(texts) for column in order}
        for row, text in enumerate(texts):
            position = 0
            row_order = range(len(order)) if orders is None else orders[row]
            for slot, k in enumerate(row_order):
                column = order[int(k)]
                match = parsers[column, slot == len(order) - 1].match(text, position)
                if match is None:
                    raise ValueError(f"Row {row} does not hold a valid value of column "
                                     f"'{column}' at character {position}: {text!r}.")
                raw[column][row] = match.group(1)
                position = match.end()
        out = {}
        for column in order:
            domain = self.domains[column]
            texts_ = pd.Series(raw[column], dtype=object)
            null = (texts_ == self.format.null).to_numpy()
            values = pd.Series([np.nan] * len(texts_), dtype=object)
            if (~null).any():
                decoded = pd.Series(list(domain.parse(self.format, texts_[~null].tolist())))
                values = self.schema.codecs[column]._merge(decoded, null)
            out[column] = values.reset_index(drop=True)
        return pd.DataFrame(out, index=range(len(texts)))

    def decode(self, ids, columns=None, orders=None, rng=None, known=None, known_mask=None):
        """Turn sampled token ids (after the prompt) back into a table.

        Args:
            ids (numpy.ndarray): int ``(n, length)``; ``<eos>`` and padding are dropped.
            columns (list[str] or None): unused (every column is parsed).
            orders (numpy.ndarray or None): int ``(n, num_columns)`` column order per row.
            rng, known, known_mask: unused: text writes every digit, so values (given ones
                included) decode exactly.

        Returns:
            pandas.DataFrame
        """
        ids = np.asarray(ids, dtype=np.int64)
        keep = (ids != self.eos) & (ids != self.pad) & (ids >= 0)
        texts = self.tokenizer.batch_decode([row[mask].tolist() for row, mask in zip(ids, keep)],
                                            skip_special_tokens=False,
                                            clean_up_tokenization_spaces=False)
        return self.parse_text(texts, orders)

    def to_text(self, data, orders=None):
        """The text of rows (prompt prefix included, no ``<bos>``), for inspection and tests."""
        prefix = self.preamble + self.format.prefix(self.schema.order)
        clauses = {}
        out = []
        for column in self.schema.order:
            clauses[column] = (self._clause_texts(column, data[column], False),
                               self._clause_texts(column, data[column], True))
        for row in range(len(data)):
            row_order = range(self.num_columns) if orders is None else orders[row]
            parts = []
            for slot, k in enumerate(row_order):
                column = self.schema.order[int(k)]
                parts.append(clauses[column][slot == self.num_columns - 1][row])
            out.append(prefix + ''.join(parts))
        return out

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_compiled'] = None
        return state
