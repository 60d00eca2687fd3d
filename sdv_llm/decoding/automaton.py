"""The row grammar compiled into a token-level automaton held as tensors."""

import numpy as np
import torch

from sdv_llm.decoding.transitions import Transitions
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

    Constraining a batch is ``allowed = transitions.allowed(state)`` and
    ``state = transitions.step(state, token)``.

    Attributes:
        transitions (Transitions): the next state of each ``(state, token)``, ``-1`` where the
            token is not allowed; a dense ``(num_states, vocab_size)`` table, or the allowed
            pairs alone for large vocabularies (``sdv_llm.decoding.transitions``).
        column_start (torch.Tensor): int64 ``(num_columns + 1,)``: the start state of each
            column of ``schema.order``, then ``end``.
        hub (int): state after a column's value; resolved to the next column's start.
        end (int): state after the last column; only ``<eos>`` (and the repeat token, if any)
            is allowed there.
        done (int): state after ``<eos>``; only ``<pad>`` is allowed there.
        bos, eos, pad (int): the special token ids (the compact vocabulary's by default; a
            pretrained tokenizer's for text serializations).
        state_window (torch.Tensor or None): int64 ``(num_states,)``: the token window each
            state reads from: the index of its column in ``schema.order``, ``num_columns``
            for ``hub``, ``end`` and ``done`` (the special tokens). ``None`` when the states'
            tokens are not grouped (text serializations).
        windows (torch.Tensor or None): int64 ``(num_columns + 1, 2)``: the token ids
            ``[start, stop)`` of each window: a column's contiguous range of the compact
            vocabulary, then the special tokens ``[0, len(special_tokens))``.
        merged (torch.Tensor or None): bool ``(num_states,)``: states whose token shares the
            decoder position of the token before it (``Fragment.merged``); ``None`` without
            windows.
    """

    def __init__(self, transitions, column_start, hub, end, done, bos=BOS, eos=EOS, pad=PAD,
                 state_window=None, windows=None, merged=None):
        self.transitions = transitions
        self.column_start = column_start
        self.hub = hub
        self.end = end
        self.done = done
        self.bos, self.eos, self.pad = bos, eos, pad
        self.state_window = state_window
        self.windows = windows
        self.merged = merged

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
        parts = [_place(fragment, int(base), serializer.offsets[column], hub, column)
                 for column, fragment, base in zip(schema.order, fragments, bases)]
        parts.append(([end, done], [EOS, PAD], [done, done]))
        if repeat_token is not None:
            parts.append(([end], [repeat_token], [hub]))
        transitions = Transitions.from_parts(parts, done + 1, serializer.vocab_size)
        column_start = torch.as_tensor(np.append(bases[:-1], end), dtype=torch.int64)
        num_columns = len(schema.order)
        state_window = np.concatenate(
            [np.full(f.num_states, k) for k, f in enumerate(fragments)]
            + [np.full(3, num_columns)]).astype(np.int64)
        windows = [(serializer.offsets[c], serializer.offsets[c] + len(schema.codecs[c].tokens))
                   for c in schema.order] + [(0, len(serializer.special_tokens))]
        return cls(transitions, column_start, hub, end, done,
                   state_window=torch.as_tensor(state_window),
                   windows=torch.as_tensor(windows, dtype=torch.int64),
                   merged=torch.as_tensor(_merged(fragments, done + 1)))

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
        sizes = [fragment.num_states for _, fragment in fragments]
        first = self.num_states
        parts, starts = [], []
        for (column, fragment), base in zip(fragments, np.cumsum([0] + sizes[:-1])):
            parts.append(_place(fragment, int(base), serializer.offsets[column], self.hub,
                                column, shift=first))
            starts.append(first + int(base))
        position = {column: index for index, column in enumerate(serializer.schema.order)}
        windows = np.concatenate([np.zeros(0, np.int64)] + [
            np.full(fragment.num_states, position[column], dtype=np.int64)
            for column, fragment in fragments])
        merged = _merged([fragment for _, fragment in fragments], sum(sizes))
        return self._with(parts, sum(sizes), windows, merged), starts

    def _with(self, parts, num_states, state_window=None, merged=None):
        """A copy with ``num_states`` more states, whose transitions ``parts`` lists as
        ``(states, tokens, targets)`` with states counted from 0 and targets from
        ``num_states`` of this automaton; ``state_window`` and ``merged`` describe the new
        states (see the class)."""
        extra = Transitions.from_parts(parts, num_states, self.transitions.vocab_size,
                                       sparse=self.transitions.sparse)
        windows = joined = None
        if self.state_window is not None and state_window is not None:
            device = self.state_window.device
            windows = torch.cat([self.state_window,
                                 torch.as_tensor(state_window, dtype=torch.int64, device=device)])
            joined = torch.cat([self.merged, torch.as_tensor(merged, device=device)])
        return type(self)(self.transitions.cat(extra.to(self.transitions.device)),
                          self.column_start, self.hub, self.end, self.done,
                          self.bos, self.eos, self.pad, windows,
                          self.windows if windows is not None else None, joined)

    def window_table(self):
        """The transitions seen through each state's token window (for the sampler).

        Returns:
            torch.Tensor or None: int64 ``(num_states, width)``, ``width`` the widest window:
            ``table[s, i]`` is the state that token ``windows[state_window[s], 0] + i`` leads
            to from ``s``, ``-1`` where it is not allowed; ``None`` without windows.

        Raises:
            ValueError: a state allows a token outside its window.
        """
        if self.state_window is None:
            return None
        states, tokens, targets = self.transitions.triples()
        window = self.state_window.to(states.device)
        bounds = self.windows.to(states.device)
        local = tokens - bounds[window[states], 0]
        width = int((bounds[:, 1] - bounds[:, 0]).max())
        if bool(((local < 0) | (local >= width)).any()):
            raise ValueError('A state of the automaton allows a token outside its window.')
        table = torch.full((self.num_states, width), -1, dtype=torch.int64, device=states.device)
        table[states, local] = targets
        return table

    @property
    def num_states(self):
        """Number of states."""
        return self.transitions.num_states

    def to(self, device):
        """Move the tables to a device; returns ``self``."""
        self.transitions = self.transitions.to(device)
        self.column_start = self.column_start.to(device)
        if self.state_window is not None:
            self.state_window = self.state_window.to(device)
            self.windows = self.windows.to(device)
            self.merged = self.merged.to(device)
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
            state = self.transitions.step(state, targets[:, position])
            state = torch.where(state < 0, torch.full_like(state, self.done), state)
        return states


def _merged(fragments, num_states):
    """bool ``(num_states,)``: the fragments' merged states, numbered as they are placed."""
    merged = np.zeros(num_states, dtype=bool)
    base = 0
    for fragment in fragments:
        merged[[base + state for state in fragment.merged]] = True
        base += fragment.num_states
    return merged


def _place(fragment, base, offset, hub, column, shift=0):
    """A fragment's transitions as ``(states, tokens, targets)`` from state ``base``.

    ``EXIT`` goes to ``hub``; other targets are numbered from ``base + shift``.

    Raises:
        ValueError: a state without transitions (an empty value set; the column is named).
    """
    states, tokens, targets = [], [], []
    for state, transitions in enumerate(fragment.transitions):
        if not transitions:
            raise ValueError(f"Column '{column}' has an empty value set.")
        local = np.fromiter(transitions.values(), dtype=np.int64)
        states.append(np.full(len(local), base + state, dtype=np.int64))
        tokens.append(np.fromiter(transitions.keys(), dtype=np.int64) + offset)
        targets.append(np.where(local == EXIT, hub, local + base + shift))
    return np.concatenate(states), np.concatenate(tokens), np.concatenate(targets)
