"""Value automata of single columns: the pieces the row grammar is compiled from."""

from dataclasses import dataclass, field

EXIT = -1
"""Target of a transition that completes the column's value."""


@dataclass
class Fragment:
    """A deterministic automaton over one column's local token alphabet.

    The value language of every column is prefix-free: a value ends exactly when a transition
    goes to ``EXIT``, so fragments of consecutive columns can be chained without separators.

    Attributes:
        transitions (list[dict[int, int]]):
            ``transitions[state][local_token]`` is the next state, or ``EXIT``. State 0 is the
            start state. Every state must have at least one transition and every path must reach
            ``EXIT``.
        merged (set[int]): states whose token shares the decoder position of the token before
            it (a binned number's sub-bin token after its bin token): the model predicts it
            from that position's hidden state and the first token, without a decoder step of
            its own (``TabularDecoder.sub_hidden``).
    """

    transitions: list = field(default_factory=lambda: [{}])
    merged: set = field(default_factory=set)

    def add_state(self):
        """Append an empty state and return its index."""
        self.transitions.append({})
        return len(self.transitions) - 1

    @property
    def num_states(self):
        """Number of states, the start state included."""
        return len(self.transitions)

    def accepts(self, local_tokens):
        """Whether the sequence of local token ids is one complete value (for tests)."""
        state = 0
        for position, token in enumerate(local_tokens):
            nxt = self.transitions[state].get(int(token))
            if nxt is None:
                return False
            if nxt == EXIT:
                return position == len(local_tokens) - 1
            state = nxt

        return False


def digit_range_fragment(fragment, start, low, high, width, digit_token):
    """Add the automaton of the fixed-width decimal integers in ``[low, high]`` to ``fragment``.

    The integers are written with exactly ``width`` digits, most significant first, zero padded.
    States track whether the digits so far equal the prefix of ``low`` or of ``high`` (the
    classic digit-DP construction), so at most ``4 * width`` states are added.

    Args:
        fragment (Fragment): the automaton to extend.
        start (int): the existing state that reads the first digit.
        low (int), high (int): the inclusive range, ``0 <= low <= high < 10 ** width``.
        width (int): number of digit positions.
        digit_token (callable): ``digit_token(position, digit) -> local token id``.

    Raises:
        ValueError: if the range is empty or does not fit in ``width`` digits.
    """
    if not 0 <= low <= high < 10**width:
        raise ValueError(f'Invalid digit range [{low}, {high}] for width {width}.')

    low_digits = [int(c) for c in str(low).zfill(width)]
    high_digits = [int(c) for c in str(high).zfill(width)]
    states = {(0, True, True): start}
    pending = [(0, True, True)]
    while pending:
        key = pending.pop()
        position, tight_low, tight_high = key
        state = states[key]
        first = low_digits[position] if tight_low else 0
        last = high_digits[position] if tight_high else 9
        for digit in range(first, last + 1):
            if position == width - 1:
                target = EXIT
            else:
                next_key = (position + 1, tight_low and digit == first,
                            tight_high and digit == last)
                if next_key not in states:
                    states[next_key] = fragment.add_state()
                    pending.append(next_key)

                target = states[next_key]

            fragment.transitions[state][digit_token(position, digit)] = target

    return fragment


def trie_fragment(sequences):
    """The automaton of a finite, prefix-free set of token sequences.

    Args:
        sequences (numpy.ndarray): int ``(n, width)`` local token ids, each row one sequence
            followed by ``-1`` padding; duplicates are allowed.

    Returns:
        Fragment

    Raises:
        ValueError: a sequence is empty or a proper prefix of another.
    """
    fragment = Fragment()
    for row in {tuple(int(t) for t in sequence if t >= 0) for sequence in sequences}:
        if not row:
            raise ValueError('An empty token sequence has no automaton.')
        state = 0
        for token in row[:-1]:
            target = fragment.transitions[state].get(token)
            if target == EXIT:
                raise ValueError('The token sequences are not prefix-free.')
            if target is None:
                target = fragment.add_state()
                fragment.transitions[state][token] = target
            state = target
        if fragment.transitions[state].get(row[-1], EXIT) != EXIT:
            raise ValueError('The token sequences are not prefix-free.')
        fragment.transitions[state][row[-1]] = EXIT
    return fragment
