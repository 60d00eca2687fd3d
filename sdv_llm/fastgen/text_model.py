"""Free-text fields: common values by frequency, and a character Markov model for the rest.

Values seen at least ``min_count`` times are released with their frequencies (as a categorical
column would be). Every other value is rare: it is never written verbatim. New strings come
from a character Markov model of order ``k`` fitted on all values, and the script draws again
any string equal to a rare value; to know them it holds salted 64-bit hashes, never the
values (a reader holding a guess can test it against the hashes, as with any salted hash).
"""

import secrets

import numpy as np
import pandas as pd

from sdv_llm.fastgen.runtime import text_digest


def fit_markov(values, order=3, max_length=200):
    """A character Markov model of order ``order`` in the layout ``runtime._markov_strings`` reads.

    Args:
        values (pandas.Series): strings (missing values dropped by the caller).
        order (int): characters of context, ``>= 1``.
        max_length (int): longest string written (longer training values are cut for the
            length limit only).

    Returns:
        dict: ``alphabet`` (str), ``order``, ``contexts`` (sorted int codes), ``offsets``,
        ``cumulative``, ``next`` (lists) and ``max_length``.
    """
    counts = values.astype(str).value_counts()
    alphabet = ''.join(sorted(set(''.join(counts.index))))
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    base = len(alphabet) + 1
    modulus = base ** order
    transitions = {}
    longest = 1
    for text, count in counts.items():
        code = 0
        longest = max(longest, len(text) + 1)
        for char in list(text) + [None]:
            nxt = 0 if char is None else index[char]
            row = transitions.setdefault(code, {})
            row[nxt] = row.get(nxt, 0) + int(count)
            code = (code * base + nxt) % modulus
    contexts = sorted(transitions)
    offsets, cumulative, following = [0], [], []
    for code in contexts:
        row = transitions[code]
        keys = sorted(row)
        weights = np.array([row[k] for k in keys], dtype=float)
        cumulative.extend((np.cumsum(weights) / weights.sum()).tolist())
        following.extend(keys)
        offsets.append(len(following))
    return {'alphabet': alphabet, 'order': int(order), 'contexts': contexts, 'offsets': offsets,
            'cumulative': cumulative, 'next': following,
            'max_length': int(min(longest, max_length))}


def fit_text(values, min_count=5, order=3):
    """Fit a free-text field.

    Args:
        values (pandas.Series): the column (NaN for missing).
        min_count (int): values seen this often are common (released with frequencies).
        order (int): the Markov order.

    Returns:
        dict: the ``'text'`` field of a spec (``runtime._text``), without missing values; its
        ``markov`` holds the models of orders ``order, order - 1, ..., 1``.
    """
    present = values.dropna().astype(str)
    if len(present) == 0:
        present = pd.Series([''])
    counts = present.value_counts()
    common = counts[counts >= min_count]
    rare = counts.index[counts < min_count]
    salt = secrets.token_hex(8)
    return {
        'kind': 'text',
        'common': {'values': common.index.tolist(),
                   'probs': (common / common.sum()).tolist() if len(common) else []},
        'common_share': float(common.sum() / len(present)),
        'markov': [fit_markov(present, order=k) for k in range(order, 0, -1)],
        'guard': {'salt': salt, 'hashes': sorted(text_digest(salt.encode(), v) for v in rare)},
    }
