"""The row grammar compiled into a token-level automaton held as tensors."""

import numpy as np
import torch

from sdv_llm.schema.fragment import EXIT
from sdv_llm.serialization.compact import EOS, PAD


class TokenAutomaton:
    """A deterministic automaton over the vocabulary whose paths are exactly the valid rows.

    The row grammar is the column fragments chained in generation order (each fragment's
    ``EXIT`` leads to the next column's start), then ``<eos>``, then ``<pad>`` forever. It is
    compiled once per (schema, order) into one table, so constraining a batch is a gather:
    ``allowed = next_state[state] >= 0`` and ``state = next_state[state, token]``.

    Attributes:
        next_state (torch.Tensor): int64 ``(num_states, vocab_size)``; ``-1`` where a token is
            not allowed.
        start (int): state before the first column's first token (after ``<bos>``).
        end (int): state after the last column; only ``<eos>`` is allowed there
            (``done = end + 1``).
        done (int): state after ``<eos>``; only ``<pad>`` is allowed there.
    """

    def __init__(self, next_state, start, end, done):
        self.next_state = next_state
        self.start = start
        self.end = end
        self.done = done

    @classmethod
    def compile(cls, serializer):
        """Compile the grammar of the serializer's rows.

        Args:
            serializer (CompactSerializer): vocabulary and schema.

        Returns:
            TokenAutomaton
        """
        schema = serializer.schema
        fragments = [schema.codecs[column].fragment() for column in schema.order]
        bases = np.cumsum([0] + [f.num_states for f in fragments])
        end, done = int(bases[-1]), int(bases[-1]) + 1
        table = np.full((done + 1, serializer.vocab_size), -1, dtype=np.int64)
        for index, (column, fragment) in enumerate(zip(schema.order, fragments)):
            base, offset = int(bases[index]), serializer.offsets[column]
            after = int(bases[index + 1])  # next column's start, or `end`
            for state, transitions in enumerate(fragment.transitions):
                if not transitions:
                    raise ValueError(f"Column '{column}' has an empty value set.")
                tokens = np.fromiter(transitions.keys(), dtype=np.int64) + offset
                targets = np.fromiter(transitions.values(), dtype=np.int64)
                table[base + state, tokens] = np.where(targets == EXIT, after, targets + base)

        table[end, EOS] = done
        table[done, PAD] = done
        return cls(torch.from_numpy(table), 0, end, done)

    @property
    def num_states(self):
        """Number of states."""
        return self.next_state.shape[0]

    def to(self, device):
        """Move the tables to a device; returns ``self``."""
        self.next_state = self.next_state.to(device)
        return self

    def states_along(self, targets):
        """States before each target token, for a constrained training loss.

        Args:
            targets (torch.Tensor): int64 ``(batch, length)`` tokens following ``<bos>``, taken
                from valid rows.

        Returns:
            torch.Tensor: int64 ``(batch, length)``; ``states[:, t]`` is the state that reads
            ``targets[:, t]``.
        """
        states = torch.empty_like(targets)
        state = torch.full((targets.shape[0],), self.start, dtype=torch.int64,
                           device=targets.device)
        for position in range(targets.shape[1]):
            states[:, position] = state
            state = self.next_state[state, targets[:, position]]
            state = torch.where(state < 0, torch.full_like(state, self.done), state)
        return states
