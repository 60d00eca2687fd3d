"""The serializer protocol: what every serialization of rows into token ids implements.

A serialization is registered through the ``sdv_llm_serializations`` hook as a
``sdv_llm.decoding.serializations.Serialization``: a ``Serializer`` subclass (this module: the
data side, rows to token ids and back) together with the grammar and dependency compilers that
decode it. The core (``sdv_llm.tabular_lm.TabularLM``) only calls the members below, so adding
a serialization is one module and a registration (``tests/serialization/test_toy_tsv.py``
registers TSV lines that way).
"""

import abc
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class EncodedRows(NamedTuple):
    """Training rows as the training loop reads them, for every serialization.

    Attributes:
        ids (numpy.ndarray): int64 ``(n, length)`` token ids: the prompt, the row, the end
            token, then padding.
        context (numpy.ndarray or None): int64 ``(n,)`` tokens after the first that are given,
            not learned (the parent's context in ``sdv_llm.relational``); ``None`` for none.
        columns (numpy.ndarray): int64 ``(n, length - 1)`` the model's next-column input for
            each target token (``ids[:, 1:]``), see ``Serializer.row_encoder``.
    """

    ids: np.ndarray
    context: object
    columns: np.ndarray


@dataclass
class SerializerContext:
    """What a serializer may need besides the schema, as the core resolves it.

    Attributes:
        name (str): the registered name the configuration asked for (a serializer class may
            serve several, as the text formats do).
        tokenizer (transformers.PreTrainedTokenizerBase or None): the pretrained backbone's
            tokenizer (``backbone='pretrained'`` serializations), ``None`` otherwise.
        vocab_size (int or None): width of the backbone's logits, when it has one already.
        preamble (str or None): instruction text before the rows (``text_preamble``).
    """

    name: str
    tokenizer: object = None
    vocab_size: int = None
    preamble: str = None


class Serializer(abc.ABC):
    """Rows to token ids and back, for one fitted ``TableSchema``.

    Attributes every implementation sets:
        schema (TableSchema): fitted codecs and base column order.
        name (str): the registered name.
        prompt (numpy.ndarray): int64 ``(prompt_length,)`` tokens every sequence starts with
            (``<bos>`` first).
        fixed_order (bool): every row is written in the base column order (no random order,
            no conditions generated first).
        vocab_size (int): width of the logits.
        max_length (int): longest sequence in tokens, prompt and end token included (a text
            serialization knows it once its grammar is compiled: ``bind``).
    """

    name = None
    fixed_order = False

    @classmethod
    @abc.abstractmethod
    def create(cls, schema, context):
        """A serializer for a fitted schema.

        Args:
            schema (TableSchema): fitted codecs and base order.
            context (SerializerContext): name, tokenizer, vocabulary width, preamble.

        Returns:
            Serializer

        Raises:
            ValueError: the schema or context cannot be serialized this way (column named).
        """

    @property
    def num_columns(self):
        """Number of modelled columns."""
        return len(self.schema.order)

    def check_order_mode(self, order_mode):
        """Refuse a column order the serialization cannot write.

        Args:
            order_mode (str): ``schema.order_mode`` (``'fd'``, ``'fixed'``, ``'random'``).

        Raises:
            ValueError: ``'random'`` with a serialization of ``fixed_order``.
        """
        if self.fixed_order and order_mode == 'random':
            raise ValueError(f"serialization={self.name!r} writes every row in the header's "
                             "column order; column_order='random' needs 'text' or 'json'.")

    def bind(self, automaton):
        """Take what the compiled grammar knows about the sequences (nothing by default).

        Args:
            automaton: the grammar ``Serialization.compile`` built for this serializer.
        """

    @abc.abstractmethod
    def encode_blocks(self, data, columns=None):
        """Each column's tokens as a block (the unit ``assemble`` and ``join`` order).

        Args:
            data (pandas.DataFrame): ``n`` rows holding the columns.
            columns (list[str] or None): which columns (default ``schema.order``).

        Returns:
            list: one block per column, in ``columns`` order.
        """

    @abc.abstractmethod
    def value_block(self, column, values):
        """The token ids of one column's values (a known cell's forced tokens).

        Args:
            column (str): the column.
            values (pandas.Series): ``n`` raw values.

        Returns:
            numpy.ndarray: int64 ``(n, width)``, ``-1`` padded.
        """

    @abc.abstractmethod
    def row_encoder(self, blocks, orders):
        """The training loop's view of a table's encoded blocks.

        Args:
            blocks (list): ``encode_blocks`` of the training rows.
            orders (callable): ``orders(num_rows, rng)`` -> int ``(num_rows, num_columns)``
                column order per row or ``None`` for the base order (``training_orders``).

        Returns:
            callable: ``encode_rows(index, rng) -> EncodedRows`` for the rows ``index`` (int
            array), each in the order ``orders`` draws. It may set ``encode_rows.length``
            (int), the length of its sequences when shorter than ``max_length`` (it sizes
            the automatic batch).
        """

    @staticmethod
    def join(blocks, orders=None):
        """Concatenate per-column blocks in each row's column order, ``-1`` holes last.

        Args:
            blocks (list[numpy.ndarray]): one int64 ``(n, width_k)`` block per column of
                ``schema.order``, ``-1`` padded.
            orders (numpy.ndarray or None): int ``(n, num_columns)`` column order per row.

        Returns:
            numpy.ndarray: int64 ``(n, sum(width_k))``.
        """
        ids = np.concatenate(blocks, axis=1)
        n, total = ids.shape
        widths = np.array([b.shape[1] for b in blocks])
        if orders is not None and total:
            starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
            positions = np.full((len(blocks), max(1, int(widths.max()))), -1, dtype=np.int64)
            for index, (start, width) in enumerate(zip(starts, widths)):
                positions[index, :width] = np.arange(start, start + width)
            gather = positions[np.asarray(orders)].reshape(n, -1)
            gather = gather[gather >= 0].reshape(n, total)
            ids = np.take_along_axis(ids, gather, axis=1)
        return holes_last(ids, -1)

    @abc.abstractmethod
    def restriction(self, column, kind, spec):
        """What a condition on one column leaves, in the form the grammar's ``extend`` reads.

        Args:
            column (str): the column.
            kind (str): ``'values'`` (``spec = (values,)``), ``'range'`` (``(low, high)``),
                ``'present'`` (not missing) or ``'visible'`` (what sampling may write).
            spec (tuple): see ``kind``.

        Returns:
            object or None: ``None`` where nothing is restricted.

        Raises:
            ValueError: a value the column cannot take or an empty range (column named).
        """

    @abc.abstractmethod
    def decode(self, ids, columns=None, orders=None, rng=None, known=None, known_mask=None):
        """Token ids back into a table.

        Args:
            ids (numpy.ndarray): int ``(n, length)`` sampled sequences after the prompt.
            columns (list[str] or None): the columns to decode (default ``schema.order``).
            orders (numpy.ndarray or None): int ``(n, num_columns)`` the order each row was
                written in.
            rng (numpy.random.Generator or None): for values decoded at random inside a bin.
            known (pandas.DataFrame or None): given cells, returned as given.
            known_mask (numpy.ndarray or None): bool ``known.shape``, the given cells.

        Returns:
            pandas.DataFrame: ``n`` rows.
        """


def holes_last(ids, fill):
    """Move the ``-1`` holes of each row to its end (stable) and write ``fill`` there.

    Args:
        ids (numpy.ndarray): int64 ``(n, length)``, ``-1`` for a hole.
        fill (int): written in place of the holes.

    Returns:
        numpy.ndarray: int64 ``(n, length)``, each row's tokens in order, then ``fill``.
    """
    holes = ids < 0
    order = np.argsort(holes, axis=1, kind='stable')
    ids = np.take_along_axis(ids, order, axis=1)
    ids[np.take_along_axis(holes, order, axis=1)] = fill
    return ids
