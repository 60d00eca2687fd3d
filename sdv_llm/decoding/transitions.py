"""The transition function of a token automaton, dense for small vocabularies, sparse for large.

A row grammar allows few tokens in each state, so ``states x vocabulary`` is mostly ``-1``:
with a 150k-token vocabulary (Qwen) and a few thousand states a dense int64 table takes
gigabytes. ``Transitions`` keeps the dense table while it is small (the compact vocabulary,
small tokenizers) and otherwise the allowed ``(state, token)`` pairs alone, as sorted keys
``state * vocab_size + token`` (CSR order) with their target states, on the same device. Both
layouts answer the two questions of constrained decoding and training in batched tensor ops:
which tokens a state allows (``allowed``) and where a token leads (``step``).
"""

import numpy as np
import torch

DENSE_LIMIT = 2**24
"""Most ``states x vocabulary`` entries held as a dense table (128 MiB of int64)."""


class Transitions:
    """Next state of each ``(state, token)``; ``-1`` where the token is not allowed.

    Build with ``Transitions.build``; the layout is chosen by size.

    Attributes:
        num_states (int), vocab_size (int): the table's shape.
        sparse (bool): the layout.
    """

    def __init__(self, num_states, vocab_size, dense=None, keys=None, targets=None):
        self.num_states = int(num_states)
        self.vocab_size = int(vocab_size)
        self.dense = dense
        self.keys = keys
        self.targets = targets
        self._row_bounds = None

    @property
    def sparse(self):
        """Whether only the allowed pairs are held (else the dense table)."""
        return self.dense is None

    @classmethod
    def build(cls, states, tokens, targets, num_states, vocab_size, sparse=None):
        """From the allowed transitions.

        Args:
            states, tokens, targets (array-like): int ``(nnz,)``: ``tokens[i]`` read in
                ``states[i]`` leads to ``targets[i]`` (a state, ``>= 0``); pairs are unique.
            num_states (int), vocab_size (int): the shape.
            sparse (bool or None): the layout; ``None`` chooses sparse above ``DENSE_LIMIT``
                entries.

        Returns:
            Transitions
        """
        states = torch.as_tensor(np.asarray(states, dtype=np.int64))
        tokens = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
        targets = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        if sparse is None:
            sparse = num_states * vocab_size > DENSE_LIMIT
        if not sparse:
            table = torch.full((num_states, vocab_size), -1, dtype=torch.int64)
            table[states, tokens] = targets
            return cls(num_states, vocab_size, dense=table)
        keys = states * vocab_size + tokens
        order = torch.argsort(keys)
        return cls(num_states, vocab_size, keys=keys[order].contiguous(),
                   targets=targets[order].contiguous())

    @classmethod
    def from_parts(cls, parts, num_states, vocab_size, sparse=None):
        """``build`` from several ``(states, tokens, targets)`` arrays, joined in order.

        Args:
            parts (list[tuple]): int array-likes, as ``build`` takes them.
            num_states (int), vocab_size (int), sparse (bool or None): see ``build``.

        Returns:
            Transitions
        """
        states, tokens, targets = (
            np.concatenate([np.asarray(p[i], np.int64) for p in parts]) if parts
            else np.zeros(0, np.int64) for i in range(3))
        return cls.build(states, tokens, targets, num_states, vocab_size, sparse)

    def triples(self):
        """``(states, tokens, targets)``: int64 tensors of the allowed transitions."""
        if self.sparse:
            return (torch.div(self.keys, self.vocab_size, rounding_mode='floor'),
                    self.keys % self.vocab_size, self.targets)
        states, tokens = torch.nonzero(self.dense >= 0, as_tuple=True)
        return states, tokens, self.dense[states, tokens]

    @property
    def device(self):
        """The ``torch.device`` the table is on."""
        return (self.keys if self.sparse else self.dense).device

    @property
    def nbytes(self):
        """Bytes held by the table."""
        if self.sparse:
            return self.keys.numel() * 8 + self.targets.numel() * 8
        return self.dense.numel() * 8

    def to(self, device):
        """Move to ``device``; returns ``self``."""
        if self.sparse:
            self.keys, self.targets = self.keys.to(device), self.targets.to(device)
            self._row_bounds = None
        else:
            self.dense = self.dense.to(device)
        return self

    def step(self, states, tokens):
        """The state each token leads to.

        Args:
            states (torch.Tensor): int64, any shape, valid states.
            tokens (torch.Tensor): int64, the same shape.

        Returns:
            torch.Tensor: int64, the same shape; ``-1`` where the token is not allowed.
        """
        if not self.sparse:
            return self.dense[states, tokens]
        query = states * self.vocab_size + tokens
        if not self.keys.numel():
            return torch.full_like(query, -1)
        position = torch.searchsorted(self.keys, query).clamp_max(self.keys.numel() - 1)
        found = self.keys[position] == query
        return torch.where(found, self.targets[position], torch.full_like(query, -1))

    def allowed(self, states):
        """Which tokens each state allows.

        Args:
            states (torch.Tensor): int64, any shape ``S``, valid states.

        Returns:
            torch.Tensor: bool ``(*S, vocab_size)``, a new tensor (it may be changed).
        """
        if not self.sparse:
            return self.dense[states] >= 0
        flat = states.reshape(-1)
        bounds = self._bounds()
        start, stop = bounds[flat], bounds[flat + 1]
        count = stop - start
        rows = torch.repeat_interleave(torch.arange(len(flat), device=flat.device), count)
        offset = torch.arange(int(count.sum()), device=flat.device) - \
            torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
        mask = torch.zeros((len(flat), self.vocab_size), dtype=torch.bool, device=flat.device)
        mask[rows, self.keys[start[rows] + offset] % self.vocab_size] = True
        return mask.reshape(*states.shape, self.vocab_size)

    def num_allowed(self):
        """int64 ``(num_states,)``: the tokens each state allows."""
        if not self.sparse:
            return (self.dense >= 0).sum(dim=1)
        return torch.diff(self._bounds())

    def _bounds(self):
        """int64 ``(num_states + 1,)``: where each state's keys start (CSR row pointers)."""
        if self._row_bounds is None:
            edges = torch.arange(self.num_states + 1, device=self.keys.device) * self.vocab_size
            self._row_bounds = torch.searchsorted(self.keys, edges)
        return self._row_bounds

    def cat(self, other):
        """This table with ``other``'s states appended (their targets already numbered so).

        Returns:
            Transitions: sparse if either is.
        """
        if self.vocab_size != other.vocab_size:
            raise ValueError('Transition tables over different vocabularies cannot be joined.')
        if not self.sparse and not other.sparse:
            return Transitions(self.num_states + other.num_states, self.vocab_size,
                               dense=torch.cat([self.dense, other.dense.to(self.device)]))
        mine, theirs = self.triples(), other.triples()
        states = torch.cat([mine[0], theirs[0].to(self.device) + self.num_states])
        tokens = torch.cat([mine[1], theirs[1].to(self.device)])
        targets = torch.cat([mine[2], theirs[2].to(self.device)])
        return Transitions(self.num_states + other.num_states, self.vocab_size,
                           keys=states * self.vocab_size + tokens, targets=targets)
