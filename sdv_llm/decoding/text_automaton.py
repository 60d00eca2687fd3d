"""The row grammar of a text serialization compiled against a pretrained tokenizer's vocabulary.

Each clause (label, value, terminator; see ``sdv_llm.serialization.text``) is a regular
expression; outlines-core compiles it with the tokenizer's vocabulary into a token-level
automaton (every token whose bytes keep the text inside the language is allowed, so BPE
tokens that span the label, the value and the terminator are handled). The clause automata
are laid into one ``TokenAutomaton`` table: a clause's accepting state becomes the ``hub``, so
rows are generated in any column order with the same sampler and training loss as the compact
path. Each column has two clauses, one ending with the separator and one ending the row, at
``column_start[k]`` and ``column_start[num_columns + 1 + k]``.
"""

import functools

import numpy as np
import torch

from sdv_llm.decoding.automaton import TokenAutomaton
from sdv_llm.decoding.transitions import Transitions


@functools.lru_cache(maxsize=1)
def _byte_decoder():
    """GPT-2's byte-level alphabet: printable unicode character -> byte (the tokenizer's own
    table, ``bytes_to_unicode``, inverted)."""
    try:
        from transformers.convert_slow_tokenizer import bytes_to_unicode
    except ImportError:  # older transformers keep it with the GPT-2 tokenizer only
        from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode
    return {char: byte for byte, char in bytes_to_unicode().items()}


def token_bytes(tokenizer):
    """The bytes each token of a Hugging Face tokenizer writes.

    Handles byte-level BPE (GPT-2, Llama 3, Qwen), SentencePiece-style ``▁`` spaces and
    ``<0xNN>`` byte-fallback tokens.

    Args:
        tokenizer (transformers.PreTrainedTokenizerBase)

    Returns:
        dict[int, bytes]: token id -> bytes, special tokens left out.
    """
    special = set(tokenizer.all_special_ids)
    decoder = None
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    if backend is not None and type(backend.decoder).__name__ == 'ByteLevel':
        decoder = _byte_decoder()
    out = {}
    for token, index in tokenizer.get_vocab().items():
        if index in special:
            continue
        if decoder is not None and all(char in decoder for char in token):
            out[index] = bytes(decoder[char] for char in token)
        elif len(token) == 6 and token.startswith('<0x') and token.endswith('>'):
            out[index] = bytes([int(token[3:5], 16)])
        else:
            out[index] = token.replace('▁', ' ').encode('utf-8')
    return out


def outlines_vocabulary(tokenizer):
    """An ``outlines_core.Vocabulary`` of the tokenizer (special tokens but ``<eos>`` left out)."""
    from outlines_core import Vocabulary

    grouped = {}
    for index, data in token_bytes(tokenizer).items():
        if data:
            grouped.setdefault(data, []).append(index)
    return Vocabulary(int(tokenizer.eos_token_id), grouped)


def _clause_rows(regex, vocabulary, hub, first):
    """Compile one clause: its transitions (states numbered from ``first``) and start state.

    Returns:
        tuple: ``(transitions, count, start, longest)``: ``(states, tokens, targets)`` int64
        arrays of the allowed transitions, the number of states, the start state, and the most
        tokens a clause can take.

    Raises:
        ValueError: the clause language is not prefix-free (an accepting state continues).
    """
    from outlines_core import Index

    index = Index(regex, vocabulary)
    eos = vocabulary.get_eos_token_id()
    transitions = index.get_transitions()
    finals = set(index.get_final_states())
    initial = index.get_initial_state()
    states = [initial] + sorted(s for s in transitions if s != initial and s not in finals)
    ids = {state: first + i for i, state in enumerate(states)}
    for state in finals:
        if any(token != eos for token in transitions.get(state, {})):
            raise ValueError(f'The clause {regex!r} is not prefix-free.')
    triples = [(ids[state], token, hub if target in finals else ids[target])
               for state in states for token, target in transitions.get(state, {}).items()
               if token != eos]
    arrays = tuple(np.array(column, dtype=np.int64) for column in zip(*triples)) if triples \
        else (np.zeros(0, np.int64),) * 3
    return arrays, len(states), ids[initial], _longest_path(transitions, initial, finals, eos)


def _longest_path(transitions, initial, finals, eos):
    """Most tokens from the clause's start to an accepting state (the automaton is acyclic)."""
    depth = {}
    pending = [(initial, False)]
    while pending:  # iterative post-order depth-first search
        state, expanded = pending.pop()
        if state in depth:
            continue
        targets = {t for token, t in transitions.get(state, {}).items() if token != eos}
        if state in finals:
            depth[state] = 0
        elif expanded:
            depth[state] = 1 + max(depth[t] for t in targets)
        else:
            if len(pending) > 100_000:
                raise ValueError('A clause automaton has a cycle.')
            pending.append((state, True))
            pending.extend((t, False) for t in targets if t not in depth)
    return depth[initial]


def _compile_clauses(regexes, vocabulary, hub, first):
    """Compile clauses into consecutive states, numbered from ``first``.

    Returns:
        tuple: ``(parts, count, starts, longest)``: the ``(states, tokens, targets)`` of each
        clause, the number of states of all clauses, the start state and the most tokens of
        each clause.
    """
    parts, starts, longest = [], [], []
    count = 0
    for regex in regexes:
        transitions, size, start, length = _clause_rows(regex, vocabulary, hub, first + count)
        parts.append(transitions)
        starts.append(start)
        longest.append(length)
        count += size
    return parts, count, starts, longest


class TextTokenAutomaton(TokenAutomaton):
    """A ``TokenAutomaton`` compiled from the clause regexes of a ``TextSerializer``.

    Attributes:
        max_length (int): the longest valid sequence: the prompt, the longest clause path of
            every column and ``<eos>`` (the serializer takes it in ``bind``).
    """

    @classmethod
    def compile(cls, serializer, repeat_token=None):
        """Compile the clauses of every column (separator and row-end variants).

        Args:
            serializer (TextSerializer): tokenizer, formats and codecs.
            repeat_token: unsupported (one row per sequence).

        Returns:
            TextTokenAutomaton
        """
        if repeat_token is not None:
            raise ValueError('Text serializations hold one row per sequence.')
        vocabulary = outlines_vocabulary(serializer.tokenizer)
        order = serializer.schema.order
        regexes = ([serializer.clause_regex(c, last=False) for c in order]
                   + [serializer.clause_regex(c, last=True) for c in order])
        # Reserve hub, end and done as states 0..2 so that clauses can point at the hub.
        hub, end, done = 0, 1, 2
        parts, num_states, starts, longest = _compile_clauses(regexes, vocabulary, hub, 3)
        parts.append(([end, done], [serializer.eos, serializer.pad], [done, done]))
        table = Transitions.from_parts(parts, 3 + num_states, serializer.vocab_size)
        count = len(order)
        column_start = torch.as_tensor(starts[:count] + [end] + starts[count:],
                                       dtype=torch.int64)
        automaton = cls(table, column_start, hub, end, done, bos=serializer.bos,
                        eos=serializer.eos, pad=serializer.pad)
        automaton.max_length = (len(serializer.prompt) + 1
                                + sum(max(a, b) for a, b in
                                      zip(longest[:count], longest[count:])))
        automaton._vocabulary = vocabulary
        return automaton

    def extend(self, serializer, restrictions):
        """A copy with restricted clauses appended (conditions).

        Args:
            serializer (TextSerializer): the serializer the automaton was compiled from.
            restrictions (list[tuple[str, tuple]]): ``(column, (value_patterns, allow_null))``.

        Returns:
            tuple: ``(TextTokenAutomaton, list[tuple[int, int]])``: the automaton and the
            start states of each restriction's separator and row-end clauses.
        """
        vocabulary = getattr(self, '_vocabulary', None) or outlines_vocabulary(
            serializer.tokenizer)
        regexes = [serializer.clause_regex(column, last, patterns, allow_null)
                   for column, (patterns, allow_null) in restrictions
                   for last in (False, True)]
        parts, count, flat, _ = _compile_clauses(regexes, vocabulary, self.hub, self.num_states)
        starts = list(zip(flat[0::2], flat[1::2]))
        # Clause states are numbered from num_states: shift them back to count from 0.
        parts = [(states - self.num_states, tokens, targets)
                 for states, tokens, targets in parts]
        automaton = self._with(parts, count)
        automaton._vocabulary = vocabulary
        return automaton, starts

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop('_vocabulary', None)
        return state
