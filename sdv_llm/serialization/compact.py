"""Compact serialization: a vocabulary built for the table, one disjoint token range per column."""

import numpy as np
import pandas as pd

PAD, BOS, EOS = 0, 1, 2
SPECIAL_TOKENS = ('<pad>', '<bos>', '<eos>')


class CompactSerializer:
    """Rows as ``<bos>``, each column's codec tokens in generation order, ``<eos>``, padding.

    Every column owns a contiguous range of token ids (its codec's local alphabet shifted by
    ``offsets[column]``), so a token id alone tells which column it belongs to, and the
    vocabulary is a few hundred tokens for a typical table (REaLTabFormer's idea).

    Args:
        schema (TableSchema): fitted codecs and column order.

    Attributes:
        tokens (list[str]): token strings, ``'column=token'`` for column tokens.
        offsets (dict[str, int]): first token id of each column.
        token_column (numpy.ndarray): int64 ``(vocab_size,)``, index into ``schema.order`` of the
            column of each token, ``-1`` for special tokens.
        max_length (int): longest sequence in tokens, ``<bos>`` and ``<eos>`` included.
    """

    name = 'compact'

    def __init__(self, schema):
        self.schema = schema
        self.tokens = list(SPECIAL_TOKENS)
        self.offsets = {}
        columns = []
        for index, column in enumerate(schema.order):
            codec = schema.codecs[column]
            self.offsets[column] = len(self.tokens)
            self.tokens.extend(f'{column}={token}' for token in codec.tokens)
            columns.extend([index] * len(codec.tokens))

        self.token_column = np.array([-1] * len(SPECIAL_TOKENS) + columns, dtype=np.int64)
        self.max_length = 2 + sum(schema.codecs[c].max_length for c in schema.order)

    @property
    def vocab_size(self):
        """Number of tokens."""
        return len(self.tokens)

    def encode(self, data):
        """Serialize a table.

        Args:
            data (pandas.DataFrame): ``n`` rows with every column of the schema.

        Returns:
            numpy.ndarray: int64 ``(n, max_length)`` token ids, ``PAD`` after ``<eos>``.
        """
        pieces = [np.full((len(data), 1), BOS, dtype=np.int64)]
        for column in self.schema.order:
            local = self.schema.codecs[column].encode(data[column])
            pieces.append(np.where(local >= 0, local + self.offsets[column], -1))
        pieces.append(np.full((len(data), 1), EOS, dtype=np.int64))
        ids = np.concatenate(pieces, axis=1)
        # Move the -1 holes of variable-length values to the end of each row (stable).
        holes = ids < 0
        order = np.argsort(holes, axis=1, kind='stable')
        ids = np.take_along_axis(ids, order, axis=1)
        ids[np.take_along_axis(holes, order, axis=1)] = PAD
        return ids

    def decode(self, ids):
        """Turn token ids back into a table.

        Args:
            ids (numpy.ndarray): int ``(n, length)`` sequences; the leading ``<bos>`` is optional.

        Returns:
            pandas.DataFrame: ``n`` rows, columns in the schema's generation order.
        """
        ids = np.asarray(ids, dtype=np.int64)
        owner = self.token_column[ids]
        out = {}
        for index, column in enumerate(self.schema.order):
            codec = self.schema.codecs[column]
            mask = owner == index
            local = np.full((len(ids), codec.max_length), -1, dtype=np.int64)
            rows, positions = np.nonzero(mask)
            slot = (np.cumsum(mask, axis=1) - 1)[rows, positions]
            local[rows, slot] = ids[rows, positions] - self.offsets[column]
            out[column] = codec.decode(local)
        return pd.DataFrame(out)
