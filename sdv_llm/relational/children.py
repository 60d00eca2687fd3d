"""The children model: a parent row's child rows generated as one sequence after the parent row.

A sequence is ``<bos>``, the parent row's context columns, then ``<row>`` and one child row as
many times as the parent has children, then ``<eos>``::

    <bos> [parent context] <row> [child 1] <row> [child 2] <eos>
    <bos> [parent context] <eos>                                   (no children)

so the number of children is learned jointly with their values, zero included. The context is
given (forced when sampling, left out of the loss). Sequences hold at most ``max_children``
child rows; a parent with more children is split into chunks of ``max_children`` (see
``ChildrenLM``).
"""

import functools
import logging

import numpy as np
import pandas as pd

from sdv_llm.decoding.automaton import TokenAutomaton
from sdv_llm.decoding.conditions import build_plan
from sdv_llm.decoding.dependencies import compile_dependencies
from sdv_llm.decoding.sampler import Loop, sample_sequences
from sdv_llm.decoding.serializations import Serialization
from sdv_llm.model.precision import compute_dtype
from sdv_llm.model.privacy import privacy_settings
from sdv_llm.plugins import codec_hook
from sdv_llm.schema import TableSchema
from sdv_llm.schema.protection import ValueProtection
from sdv_llm.sequence_lm import SequenceLM
from sdv_llm.serialization.base import EncodedRows
from sdv_llm.serialization.compact import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    CompactSerializer,
)
from sdv_llm.state import UnsafeStateError

LOGGER = logging.getLogger(__name__)

ROW = len(SPECIAL_TOKENS)
"""Token id of ``<row>``: another child row follows."""

CONTINUED = '<continued>'
"""Context pseudo-column of chunked parents: ``'first'`` or ``'continued'`` chunk."""

CONTEXT_PREFIX = 'parent.'
"""Prefix of the context columns in the children model's schema (parent and child columns
may share names)."""


class ChildrenSerializer(CompactSerializer):
    """The compact vocabulary of a parent's context columns and its child table's columns.

    Args:
        schema (TableSchema): context codecs first, then the child codecs, in that order.
        num_context (int): how many of ``schema.order`` are context columns.
        max_children (int): most child rows per sequence.

    Attributes:
        context_columns, child_columns (list[str]): the two parts of ``schema.order``.
        max_length (int): longest sequence: ``<bos>``, the context, ``max_children`` times
            ``<row>`` and a child row, then ``<eos>`` (or the ``<row>`` that marks a cut).
    """

    special_tokens = SPECIAL_TOKENS + ('<row>',)

    def __init__(self, schema, num_context, max_children):
        super().__init__(schema)
        self.num_context = int(num_context)
        self.max_children = int(max_children)
        self.context_columns = list(schema.order[:num_context])
        self.child_columns = list(schema.order[num_context:])
        self.context_width = sum(schema.codecs[c].max_length for c in self.context_columns)
        self.row_width = sum(schema.codecs[c].max_length for c in self.child_columns)
        self.max_length = 3 + self.context_width + self.max_children * (1 + self.row_width)

    def encode_sequences(self, context, children, first_child, num_children, more):
        """Serialize parent chunks with their child rows.

        Args:
            context (pandas.DataFrame): one row per sequence, the context columns.
            children (pandas.DataFrame): the child rows, the child columns, grouped so that
                each sequence's children are consecutive.
            first_child (numpy.ndarray): int ``(num_sequences,)`` first child row of each
                sequence.
            num_children (numpy.ndarray): int ``(num_sequences,)`` child rows of each sequence
                (at most ``max_children``).
            more (numpy.ndarray): bool ``(num_sequences,)``: the parent has more children in a
                later chunk; the sequence then ends with ``<row>`` instead of ``<eos>``.

        Returns:
            tuple: ``(ids, context_length)``: int64 ``(num_sequences, length)`` token ids
            (``<bos>`` first, ``PAD`` after the end, ``length`` the longest sequence) and int64
            ``(num_sequences,)`` context tokens after ``<bos>``.
        """
        context_ids = self._tokens(context, self.context_columns)
        row_ids = self._tokens(children, self.child_columns)
        context_length = (context_ids >= 0).sum(axis=1)
        row_length = (row_ids >= 0).sum(axis=1)
        sequences = []
        for index in range(len(context_ids)):
            parts = [[BOS], context_ids[index, : context_length[index]]]
            start = first_child[index]
            for child in range(start, start + num_children[index]):
                parts.append([ROW])
                parts.append(row_ids[child, : row_length[child]])
            parts.append([ROW if more[index] else EOS])
            sequences.append(np.concatenate(parts).astype(np.int64))
        length = max(len(sequence) for sequence in sequences)
        ids = np.full((len(sequences), length), PAD, dtype=np.int64)
        for index, sequence in enumerate(sequences):
            ids[index, : len(sequence)] = sequence
        return ids, context_length.astype(np.int64)

    def _tokens(self, data, columns):
        """Each row's tokens of ``columns`` in schema order, ``-1`` padded (width 0 if none)."""
        if not columns:
            return np.zeros((len(data), 0), dtype=np.int64)
        return self.join(self.encode_blocks(data, columns))

    def split(self, ids):
        """Cut sampled sequences into child rows.

        Args:
            ids (numpy.ndarray): int ``(num_sequences, length)`` sampled tokens, no ``<bos>``.

        Returns:
            tuple: ``(rows, sequence)``: int64 ``(num_rows, row_width)`` token ids of each child
            row (``PAD`` filled) and int64 ``(num_rows,)`` the sequence of each row.
        """
        ids = np.asarray(ids, dtype=np.int64)
        is_row = ids == ROW
        num_rows = np.minimum(is_row.sum(axis=1), self.max_children)
        owner = self.token_column[ids]
        is_child = owner >= self.num_context
        segment = np.cumsum(is_row, axis=1)
        total = np.cumsum(is_child, axis=1)
        before = np.maximum.accumulate(np.where(is_row, total, 0), axis=1)
        first = np.concatenate([[0], np.cumsum(num_rows)[:-1]]).astype(np.int64)
        rows = np.full((int(num_rows.sum()), max(1, self.row_width)), PAD, dtype=np.int64)
        sequence, position = np.nonzero(is_child)
        rows[first[sequence] + segment[sequence, position] - 1,
             (total - before - 1)[sequence, position]] = ids[sequence, position]
        return rows, np.repeat(np.arange(len(ids)), num_rows)


class ChildrenLM(SequenceLM):
    """A causal LM of the child rows of each parent row, sampled all parents at once.

    How many children: ``sample`` is given the number of each parent (the parent model
    samples it as a column, ``__<child>__<foreign key>__num_rows``, which is also in the
    context, so the children are generated knowing how many there will be; see
    ``LLMMultiTableSynthesizer``). Each sequence then holds exactly its share (``<eos>`` and
    ``<row>`` masked at the end of a row, ``Loop``).

    Chunking policy: a sequence holds at most ``max_children`` child rows (fewer when the
    rows are long, so that a sequence fits ``max_sequence_length`` tokens; and at most the
    largest number of children of a training parent). A parent with more children is split
    into chunks of ``max_children`` rows in their table order; every chunk but the last ends
    with ``<row>`` where the ``(max_children + 1)``-th row would start, the last with
    ``<eos>``, and the context gets a ``<continued>`` column (``'first'`` or
    ``'continued'``). When sampling, a parent with ``n`` children gets ``ceil(n / cap)``
    sequences, all decoded in the same pass. Without chunked parents in the training data
    there is no ``<continued>`` column.

    Under differential privacy (``config.differential_privacy``) every parent is ONE training
    sequence, the privacy unit: its first ``max_children`` children in table order (later ones
    are left out of training, and no parent is chunked), codecs fitted from the metadata only
    (``TableSchema.fit`` with ``CodecOptions.metadata_only``), and a cap that does not depend
    on the largest number of children.

    Args:
        config (TabularLMConfig): settings of the decoder and training (``column_order``
            applies to the child columns; ``'random'`` is read as ``'fixed'``).
        max_children (int): most child rows per sequence. Default 32.
        max_sequence_length (int): most tokens per sequence; lowers ``max_children`` for long
            rows. Default 512.
        max_context_tokens (int): context columns whose codec writes more tokens (long strings
            spelled by characters) are left out of the context. Default 16.

    Attributes (after ``fit``):
        context_columns (list[str]): the parent columns in the context.
        columns (list[str]): the child columns.
        max_children (int): the cap used.
        max_chunks (int): most chunks of one training parent.
    """

    def __init__(self, config=None, max_children=32, max_sequence_length=512,
                 max_context_tokens=16):
        super().__init__(config)
        self.max_children = max_children
        self.max_sequence_length = max_sequence_length
        self.max_context_tokens = max_context_tokens

    def fit(self, parent, parent_metadata, children, children_metadata, parent_of,
            enforce_min_max_values=True, checkpoint_dir=None):
        """Fit codecs on both tables and train on one sequence per parent chunk.

        Args:
            parent (pandas.DataFrame): every parent row, its modelled columns, raw values.
            parent_metadata (dict[str, dict]): SDV column metadata of the parent's columns.
            children (pandas.DataFrame): the child rows that have this parent, modelled
                columns, raw values.
            children_metadata (dict[str, dict]): SDV column metadata of the child's columns.
            parent_of (numpy.ndarray): int ``(len(children),)``: each child's parent row
                (position in ``parent``).
            enforce_min_max_values (bool): bound numbers and datetimes to their ranges.
            checkpoint_dir (str or pathlib.Path or None): write a training checkpoint there
                after every epoch and resume from the one found there
                (``sdv_llm.model.checkpoint``).

        Returns:
            ChildrenLM: ``self``.

        Raises:
            sdv.errors.InvalidDataError: a column cannot be modelled (named in the message).
            ValueError: ``parent_of`` has a position outside ``parent``.
        """
        config = self.config
        parent_of = np.asarray(parent_of, dtype=np.int64)
        if len(parent_of) != len(children) or (parent_of < 0).any() or \
                (parent_of >= len(parent)).any():
            raise ValueError('parent_of must give a parent row (0 to len(parent) - 1) for '
                             'every child row.')
        parent = parent.reset_index(drop=True)
        children = children.reset_index(drop=True)
        self.columns = list(children.columns)
        order = 'fixed' if isinstance(config.column_order, str) and \
            config.column_order == 'random' else config.column_order
        private = config.differential_privacy is not None
        options = self._codec_options()
        privacy = privacy_settings(config.privacy)
        protection = None
        if privacy['value_protection'] and not private:
            # The generated (child) columns only: context values are given, not sampled.
            protection = ValueProtection(privacy['rare_threshold'], privacy['threshold_noise'],
                                         self._training_seed(checkpoint_dir))
        child_schema = TableSchema.fit(children, children_metadata, enforce_min_max_values,
                                       options, order, codec_hook(), protection=protection)
        context = parent.rename(columns=lambda c: CONTEXT_PREFIX + c)
        context_metadata = {CONTEXT_PREFIX + c: m for c, m in parent_metadata.items()}
        context_schema = TableSchema.fit(context, context_metadata, enforce_min_max_values,
                                         options, 'fixed', codec_hook())
        kept = [c for c in context_schema.order
                if context_schema.codecs[c].max_length <= self.max_context_tokens]
        self.context_columns = [c[len(CONTEXT_PREFIX):] for c in kept]

        counts = np.bincount(parent_of, minlength=len(parent))
        row_width = sum(codec.max_length for codec in child_schema.codecs.values())
        context_width = sum(context_schema.codecs[c].max_length for c in kept) + 1
        fits = (self.max_sequence_length - 3 - context_width) // (1 + row_width)
        most = int(counts.max()) if len(counts) and not private else self.max_children
        cap = int(max(1, min(self.max_children, fits, most)))
        if private:  # one sequence per parent: its first ``cap`` children
            order = np.argsort(parent_of, kind='stable')
            rank = np.empty(len(children), dtype=np.int64)
            rank[order] = np.arange(len(children)) - np.repeat(
                np.cumsum(counts) - counts, counts)
            first = rank < cap
            children, parent_of = children[first].reset_index(drop=True), parent_of[first]
            counts = np.bincount(parent_of, minlength=len(parent))
        chunks = np.maximum(1, -(-counts // cap))
        self.max_chunks = int(chunks.max())
        codecs = {c: context_schema.codecs[c] for c in kept}
        if self.max_chunks > 1:
            flag = pd.Series(['first', 'continued'])
            codecs[CONTINUED] = TableSchema.fit(
                pd.DataFrame({CONTINUED: flag}), {CONTINUED: {'sdtype': 'categorical'}},
                options=config.codec_options, choose_codec=codec_hook(),
            ).codecs[CONTINUED]
            kept = kept + [CONTINUED]
        codecs.update(child_schema.codecs)
        self.schema = TableSchema(codecs, kept + child_schema.order, 'fixed',
                                  child_schema.dependencies)
        self.serializer = ChildrenSerializer(self.schema, len(kept), cap)
        self.max_children = cap

        # One sequence per chunk: the children of each parent in their table order.
        by_parent = np.argsort(parent_of, kind='stable')
        first_of_parent = np.concatenate([[0], np.cumsum(counts)[:-1]])
        sequence_parent = np.repeat(np.arange(len(parent)), chunks)
        chunk = np.arange(len(sequence_parent)) - np.repeat(np.cumsum(chunks) - chunks, chunks)
        first_child = first_of_parent[sequence_parent] + chunk * cap
        num_children = np.clip(counts[sequence_parent] - chunk * cap, 0, cap)
        more = chunk < chunks[sequence_parent] - 1
        sequence_context = self._context_frame(context.iloc[sequence_parent], chunk > 0)
        ids, context_length = self.serializer.encode_sequences(
            sequence_context, children.iloc[by_parent].reset_index(drop=True), first_child,
            num_children, more,
        )
        self.schema.release_training_values()  # hidden values: in the ids, not the model
        self.privacy_report = {'value_protection': self.schema.protection_summary()
                               if protection is not None else None}
        LOGGER.info('%d parents, %d children, %d sequences of up to %d tokens, cap %d',
                    len(parent), len(children), len(ids), ids.shape[1], cap)

        def encode_rows(index, rng):
            return EncodedRows(ids[index], context_length[index],
                               self.serializer.next_columns(ids[index][:, 1:]))

        return self._train(encode_rows, len(ids), checkpoint_dir)

    def _files_state(self):
        """The chunking settings and the context columns, for ``model.json``."""
        return {'children': {
            'max_children': int(self.max_children),
            'max_sequence_length': int(self.max_sequence_length),
            'max_context_tokens': int(self.max_context_tokens),
            'max_chunks': int(self.max_chunks),
            'context_columns': list(self.context_columns),
            'num_context': int(self.serializer.num_context),
        }, 'privacy': {'report': getattr(self, 'privacy_report', None),
                       'differential_privacy': getattr(self, 'privacy', None)}}

    def _restore_files_state(self, state):
        saved = state.get('children')
        if not isinstance(saved, dict):
            raise UnsafeStateError('model.json does not hold the settings of a ChildrenLM.')
        self.max_children = int(saved['max_children'])
        self.max_sequence_length = int(saved['max_sequence_length'])
        self.max_context_tokens = int(saved['max_context_tokens'])
        self.max_chunks = int(saved['max_chunks'])
        self.context_columns = [str(c) for c in saved['context_columns']]
        self._num_context = int(saved['num_context'])
        self.privacy_report = (state.get('privacy') or {}).get('report')

    def _build_serializer(self):
        """The children vocabulary of a loaded model (``fit`` builds its own)."""
        self.pretrained = None
        return ChildrenSerializer(self.schema, self._num_context, self.max_children)

    def _context_frame(self, context, continued):
        """The context columns of each sequence, with the ``<continued>`` flag when used."""
        frame = context.reset_index(drop=True)
        frame = frame[[c for c in self.serializer.context_columns if c != CONTINUED]]
        if CONTINUED in self.serializer.context_columns:
            frame[CONTINUED] = np.where(np.asarray(continued), 'continued', 'first')
        return frame

    def _serialization(self):
        """The children's compact serialization: ``<row>`` repeats the child columns."""
        return Serialization(ChildrenSerializer,
                             functools.partial(TokenAutomaton.compile, repeat_token=ROW),
                             compile_dependencies)

    def sample(self, parent, counts, batch_size=None):
        """Sample the given number of child rows of each parent row, all chunks in one pass.

        A parent with more children than the cap gets ``ceil(count / max_children)``
        sequences (the later ones flagged ``'continued'``); each sequence holds exactly its
        share (``Loop``), so every parent gets exactly ``counts[i]`` children.

        Args:
            parent (pandas.DataFrame): one row per parent, holding at least the context
                columns (raw values the parent's codecs can take, such as rows the parent's
                model sampled).
            counts (array-like): int ``(len(parent),)`` children of each parent, at least 0
                (see ``sdv_llm.relational.keys.children_counts``).
            batch_size (int or None): sequences decoded together (default
                ``sample_batch_size``).

        Returns:
            tuple: ``(children, parent_of)``: a ``pandas.DataFrame`` of the child rows (the
            child columns, raw values), grouped by parent, and int64 ``(len(children),)`` the
            row of ``parent`` each child belongs to.

        Raises:
            RuntimeError: before ``fit``.
            ValueError: ``counts`` does not give a count of at least 0 for every parent row;
                a context value the context codecs cannot take (named).
        """
        if self.model is None:
            raise RuntimeError('The model has not been fitted.')
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (len(parent),) or (counts < 0).any():
            raise ValueError('counts must give a number of children (at least 0) for every '
                             'parent row.')
        if self._generator is None:
            self.set_random_state(None)
        context = parent.reset_index(drop=True).rename(columns=lambda c: CONTEXT_PREFIX + c)
        cap = self.max_children
        chunks = np.maximum(1, -(-counts // cap))
        sequence_parent = np.repeat(np.arange(len(parent)), chunks)
        chunk = np.arange(len(sequence_parent)) - np.repeat(np.cumsum(chunks) - chunks, chunks)
        wanted = np.clip(counts[sequence_parent] - chunk * cap, 0, cap)
        known = self._context_frame(context.iloc[sequence_parent], chunk > 0)
        seed = self._draw_seed()
        ids = sample_sequences(
            self.model, self._plan(known, wanted),
            int(batch_size or self.config.sample_batch_size),
            self.device, self._generator, self.config.temperature, self.config.top_p,
            self.serializer.max_length - 1,
            amp_dtype=compute_dtype(self.device, self.config.precision),
            workers=getattr(self.config, 'sample_processes', None),  # None in older model files
        )
        rows, sequence = self.serializer.split(ids)
        children = self.serializer.decode(rows, self.serializer.child_columns,
                                          rng=np.random.default_rng([seed, 1]))[self.columns]
        return children.reset_index(drop=True), sequence_parent[sequence].astype(np.int64)

    def _plan(self, known, counts):
        """The sampling plan: context forced, then ``end`` (``<row>`` or ``<eos>``), children.

        Exactly ``counts[i]`` child rows in sequence ``i`` (see ``Loop``).
        """
        seed = self._draw_seed()
        num_context = self.serializer.num_context
        plan = build_plan(self.serializer, self.automaton, len(known),
                          np.random.default_rng(seed), False, known if num_context else None,
                          loop=Loop(ROW, num_context, counts))
        plan.automaton.to(self.device)
        return plan
