"""Compact serialization: a vocabulary built for the table, one disjoint token range per column."""

import numpy as np
import pandas as pd

from sdv_llm.serialization.base import EncodedRows, Serializer, holes_last

PAD, BOS, EOS = 0, 1, 2
SPECIAL_TOKENS = ('<pad>', '<bos>', '<eos>')


class CompactSerializer(Serializer):
    """Rows as ``<bos>``, each column's codec tokens in the row's column order, ``<eos>``, padding.

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
        prompt (numpy.ndarray): int64 ``(1,)``: every sequence starts with ``<bos>``.
        fixed_order (bool): ``False``: rows may be written in any column order.
    """

    name = 'compact'
    special_tokens = SPECIAL_TOKENS
    prompt = np.array([BOS], dtype=np.int64)
    fixed_order = False

    def __init__(self, schema):
        self.schema = schema
        self.tokens = list(self.special_tokens)
        self.offsets = {}
        columns = []
        for index, column in enumerate(schema.order):
            codec = schema.codecs[column]
            self.offsets[column] = len(self.tokens)
            self.tokens.extend(f'{column}={token}' for token in codec.tokens)
            columns.extend([index] * len(codec.tokens))

        self.token_column = np.array([-1] * len(self.special_tokens) + columns, dtype=np.int64)
        self.max_length = 2 + sum(schema.codecs[c].max_length for c in schema.order)

    @classmethod
    def create(cls, schema, context):
        """The compact vocabulary of ``schema`` (``context`` holds nothing it needs)."""
        return cls(schema)

    @property
    def vocab_size(self):
        """Number of tokens."""
        return len(self.tokens)

    def row_encoder(self, blocks, orders):
        """``Serializer.row_encoder``: compact rows, next-column input from the token ids.

        Positions that are padding in every training row (escape paths no row took) cost
        training time and teach nothing, so the sequences end at the longest encoded row (a
        row's length does not depend on its order). Under differential privacy too: a padding
        position's loss is ignored and causal attention keeps it from every learned position,
        so cutting it changes no per-row gradient.
        """
        length = 2 + int(sum((block >= 0).sum(axis=1) for block in blocks).max())

        def encode_rows(index, rng):
            ids = self.assemble([block[index] for block in blocks],
                                orders(len(index), rng))[:, :length]
            return EncodedRows(ids, None, self.next_columns(ids[:, 1:]))

        encode_rows.length = length
        return encode_rows

    def next_columns(self, targets):
        """Column index of each target token, as the model's next-column input.

        Args:
            targets (numpy.ndarray or torch.Tensor): int64 token ids of any shape.

        Returns:
            same type and shape: index into ``schema.order`` of each token's column, and
            ``num_columns`` for the special tokens (``<eos>``, ``<pad>``: the end of the row).
        """
        lookup = np.where(self.token_column < 0, self.num_columns, self.token_column)
        if isinstance(targets, np.ndarray):
            return lookup[targets]
        import torch

        return torch.as_tensor(lookup, device=targets.device)[targets]

    def encode(self, data, orders=None):
        """Serialize a table, each row in its own column order.

        Args:
            data (pandas.DataFrame): ``n`` rows with every column of the schema.
            orders (numpy.ndarray or None): int ``(n, num_columns)``, a permutation of column
                indices (into ``schema.order``) per row; ``None`` writes ``schema.order``.

        Returns:
            numpy.ndarray: int64 ``(n, max_length)`` token ids, ``PAD`` after ``<eos>``.
        """
        return self.assemble(self.encode_blocks(data), orders)

    def encode_blocks(self, data, columns=None):
        """Each column's tokens as a block of global token ids.

        Args:
            data (pandas.DataFrame): ``n`` rows holding the columns.
            columns (list[str] or None): which columns (default ``schema.order``).

        Returns:
            list[numpy.ndarray]: int64 ``(n, codec.max_length)`` per column, ``-1`` padded.
        """
        return [self.value_block(column, data[column]) for column in columns or self.schema.order]

    def value_block(self, column, values):
        """Global token ids of one column's values.

        Args:
            column (str): the column.
            values (pandas.Series): ``n`` raw values.

        Returns:
            numpy.ndarray: int64 ``(n, codec.max_length)``, ``-1`` padded.
        """
        local = self.schema.codecs[column].encode(values)
        return np.where(local >= 0, local + self.offsets[column], -1)

    def restriction(self, column, kind, spec):
        """The value automaton of a condition on one column.

        Args:
            column (str): the column.
            kind (str): ``'values'`` (``spec = (values,)``), ``'range'`` (``(low, high)``),
                ``'present'`` (any value but missing; ``spec`` empty) or ``'visible'`` (any
                value sampling may write: the hidden ``<rare>`` token of value protection left
                out; ``ColumnCodec.sampling_fragment``).
            spec (tuple): see ``kind``.

        Returns:
            Fragment or None: ``None`` when ``'present'`` or ``'visible'`` restricts nothing.

        Raises:
            ValueError: a value the column cannot take or an empty range (column named).
        """
        codec = self.schema.codecs[column]
        if kind == 'values':
            return codec.values_fragment(spec[0])
        if kind == 'range':
            return codec.range_fragment(*spec)
        if kind == 'visible':
            return codec.sampling_fragment()
        return codec.present_fragment()

    def assemble(self, blocks, orders=None):
        """Join per-column token blocks into sequences, each row in its own column order.

        Args:
            blocks (list[numpy.ndarray]): one int64 ``(n, width_k)`` block per column of
                ``schema.order``, global token ids, ``-1`` padded.
            orders (numpy.ndarray or None): int ``(n, num_columns)`` column order per row.

        Returns:
            numpy.ndarray: int64 ``(n, 2 + sum(width_k))``: ``<bos>``, the tokens, ``<eos>``,
            then ``PAD``.
        """
        ids = self.join(blocks, orders)
        n = len(ids)
        ids = np.concatenate([np.full((n, 1), BOS, dtype=np.int64), ids,
                              np.full((n, 1), EOS, dtype=np.int64)], axis=1)
        return holes_last(ids, PAD)

    def decode(self, ids, columns=None, orders=None, rng=None, known=None, known_mask=None):
        """Turn token ids back into a table.

        Args:
            ids (numpy.ndarray): int ``(n, length)`` sequences; the leading ``<bos>`` is optional.
            columns (list[str] or None): the columns to decode (default ``schema.order``).
            orders: unused (token ids tell their column).
            rng (numpy.random.Generator or None): draws the last digits of binned numbers
                inside their sub-bin (``None``: a generator seeded with 0).
            known (pandas.DataFrame or None): ``n`` rows of values that were given, not
                sampled (their tokens were forced on the training path, which for binned
                numbers stands for a sub-bin): these cells come back as given.
            known_mask (numpy.ndarray or None): bool ``known.shape``, the given cells of
                ``known`` (default all).

        Returns:
            pandas.DataFrame: ``n`` rows, the columns in the schema's generation order.
        """
        ids = np.asarray(ids, dtype=np.int64)
        owner = self.token_column[ids]
        # A value's tokens are contiguous in a row (``join``, ``holes_last``), so a token's
        # slot in its value is its distance from the start of its run of one column's tokens;
        # the tokens are then grouped by column in one sort, not one pass over ids per column.
        length = ids.shape[1]
        starts = np.ones(ids.shape, dtype=bool)
        starts[:, 1:] = owner[:, 1:] != owner[:, :-1]
        run_start = np.maximum.accumulate(np.where(starts, np.arange(length), 0), axis=1)
        rows, positions = np.nonzero(owner >= 0)
        owners = owner[rows, positions]
        if len(self.schema.order) < np.iinfo(np.int16).max:
            owners = owners.astype(np.int16)  # numpy sorts 16-bit keys by radix, in O(n)
        order = np.argsort(owners, kind='stable')
        bounds = np.searchsorted(owners[order], np.arange(len(self.schema.order) + 1))
        out = {}
        for index, column in enumerate(self.schema.order):
            if columns is not None and column not in columns:
                continue
            codec = self.schema.codecs[column]
            local = np.full((len(ids), codec.max_length), -1, dtype=np.int64)
            mine = order[bounds[index]:bounds[index + 1]]
            at_rows, at = rows[mine], positions[mine]
            local[at_rows, at - run_start[at_rows, at]] = ids[at_rows, at] - self.offsets[column]
            out[column] = codec.decode(local, rng)
        table = pd.DataFrame(out, index=range(len(ids)))
        if known is not None:
            _restore_known(table, self.schema, known, known_mask)
        return table


def _restore_known(table, schema, known, known_mask):
    """Write the given cells of ``known`` into ``table`` as the codecs decode them."""
    known = known.reset_index(drop=True)
    mask = (np.ones(known.shape, dtype=bool) if known_mask is None
            else np.asarray(known_mask, dtype=bool))
    for j, column in enumerate(known.columns):
        rows = mask[:, j]
        codec = schema.codecs.get(column)
        if column not in table or codec is None or not codec.random_decode or not rows.any():
            continue
        values = codec.canonical(known[column][rows]).to_numpy()
        decoded = table[column]
        if decoded.dtype != values.dtype:
            decoded = decoded.astype(object)
        decoded = decoded.to_numpy(copy=True)
        decoded[rows] = values
        table[column] = pd.Series(decoded).infer_objects() if decoded.dtype == object \
            else decoded
