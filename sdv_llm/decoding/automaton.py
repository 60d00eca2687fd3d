"""The row grammar compiled into a token-level automaton held as tensors."""

import numpy as np
import torch

from sdv_llm.schema.fragment import EXIT
from sdv_llm.serialization.compact import BOS, EOS, PAD


class TokenAutomaton:
    """A deterministic automaton over the vocabulary whose paths are exactly the valid rows.

    Each column's value automaton (its codec's fragment) is placed in one table; a completed
    value (the fragment's ``EXIT``) leads to the ``hub`` state, where the next column is chosen:
    the sampler (and the training loss) replace ``hub`` by the start state of the next column in
    the row's own order, or by ``end`` after the last column. Rows can therefore be generated in
    any column order (fixed, functional-dependency, random per row, conditioned columns first)
    with one table. After ``end`` only ``<eos>`` is allowed, then ``<pad>`` forever; an
    automaton compiled with a ``repeat_token`` also allows that token at ``end``, leading back to
    ``hub``, so a sequence can hold several rows (the children of one parent row, see
    ``SamplingPlan.loop``).

    Constraining a batch is a gather: ``allowed = next_state[state] >= 0`` and
    ``state = next_state[state, token]``.

    Attributes:
        next_state (torch.Tensor): int64 ``(num_states, vocab_size)``; ``-1`` where a token is
            not allowed.
        column_start (torch.Tensor): int64 ``(num_columns + 1,)``: the start state of each
            column of ``schema.order``, then ``end``.
        hub (int): state after a column's value; resolved to the next column's start.
        end (int): state after the last column; only ``<eos>`` (and the repeat token, if any)
            is allowed there.
        done (int): state after ``<eos>``; only ``<pad>`` is allowed there.
        bos, eos, pad (int): the special token ids (the compact vocabulary's by default; a
            pretrained tokenizer's for text serializations).
    """

    def __init__(self, next_state, column_start, hub, end, done, bos=BOS, eos=EOS, pad=PAD):
        self.next_state = next_state
        self.column_start = column_start
        self.hub = hub
        self.end = end
        self.done = done
        self.bos, self.eos, self.pad = bos, eos, pad

    @classmethod
    def compile(cls, serializer, repeat_token=None):
        """Compile the grammar of the serializer's rows.

        Args:
            serializer (CompactSerializer): vocabulary and schema.
            repeat_token (int or None): a token allowed at ``end`` that leads to ``hub`` (another
                row follows in the same sequence); ``None`` for one row per sequence.

        Returns:
            TokenAutomaton

        Raises:
            ValueError: a column has an empty value set (named in the message).
        """
        schema = serializer.schema
        fragments = [schema.codecs[column].fragment() for column in schema.order]
        bases = np.cumsum([0] + [f.num_states for f in fragments])
        hub = int(bases[-1])
        end, done = hub + 1, hub + 2
        table = np.full((done + 1, serializer.vocab_size), -1, dtype=np.int64)
        for column, fragment, base in zip(schema.order, fragments, bases):
            _place(table, fragment, int(base), serializer.offsets[column], hub, column)

        table[end, EOS] = done
        if repeat_token is not None:
            table[end, repeat_token] = hub
        table[done, PAD] = done
        column_start = torch.as_tensor(np.append(bases[:-1], end), dtype=torch.int64)
        return cls(torch.from_numpy(table), column_start, hub, end, done)

    def extend(self, serializer, fragments):
        """A copy of the automaton with more value automata appended (for conditions).

        Args:
            serializer (CompactSerializer): the vocabulary the automaton was compiled from.
            fragments (list[tuple[str, Fragment]]): ``(column, fragment)`` pairs: value
                automata over the column's local tokens, for example the values that meet a
                condition.

        Returns:
            tuple: ``(TokenAutomaton, list[int])``: the extended automaton (on the same device)
            and the start state of each added fragment.
        """
        device = self.next_state.device
        sizes = [fragment.num_states for _, fragment in fragments]
        first = self.num_states
        extra = np.full((sum(sizes), self.next_state.shape[1]), -1, dtype=np.int64)
        starts = []
        for (column, fragment), base in zip(fragments, np.cumsum([0] + sizes[:-1])):
            _place(extra, fragment, int(base), serializer.offsets[column], self.hub, column,
                   shift=first)
            starts.append(first + int(base))
        table = torch.cat([self.next_state, torch.from_numpy(extra).to(device)])
        return TokenAutomaton(table, self.column_start, self.hub, self.end, self.done,
                              self.bos, self.eos, self.pad), starts

    @property
    def num_states(self):
        """Number of states."""
        return self.next_state.shape[0]

    def to(self, device):
        """Move the tables to a device; returns ``self``."""
        self.next_state = self.next_state.to(device)
        self.column_start = self.column_start.to(device)
        return self

    def states_along(self, targets, next_columns):
        """States before each target token, for a constrained training loss.

        Args:
            targets (torch.Tensor): int64 ``(batch, length)`` tokens following ``<bos>``, taken
                from valid rows in any column order.
            next_columns (torch.Tensor): int64 ``(batch, length)`` column index of each target
                (``CompactSerializer.next_columns``).

        Returns:
            torch.Tensor: int64 ``(batch, length)``; ``states[:, t]`` is the state that reads
            ``targets[:, t]`` (never ``hub``).
        """
        states = torch.empty_like(targets)
        state = torch.full((targets.shape[0],), self.hub, dtype=torch.int64,
                           device=targets.device)
        for position in range(targets.shape[1]):
            state = torch.where(state == self.hub, self.column_start[next_columns[:, position]],
                                state)
            states[:, position] = state
            state = self.next_state[state, targets[:, position]]
            state = torch.where(state < 0, torch.full_like(state, self.done), state)
        return states


def _place(table, fragment, base, offset, hub, column, shift=0):
    """Write a fragment's transitions into ``table`` rows ``base...``; ``EXIT`` goes to ``hub``."""
    for state, transitions in enumerate(fragment.transitions):
        if not transitions:
            raise ValueError(f"Column '{column}' has an empty value set.")
        tokens = np.fromiter(transitions.keys(), dtype=np.int64) + offset
        targets = np.fromiter(transitions.values(), dtype=np.int64)
        table[base + state, tokens] = np.where(targets == EXIT, hub, targets + base + shift)
