"""A tiny "pretrained" causal LM built from a config, with a BPE tokenizer trained here.

Nothing is downloaded: the tokenizer is trained with ``tokenizers`` on a small text, the model
is a randomly initialised GPT-2 of two layers, and both are written with ``save_pretrained``
to a temporary directory that the tests pass as ``backbone``.
"""

import numpy as np
import pandas as pd
import pytest

from tests.helpers.backbones import save_config_backbone


def build_backbone(path, texts, vocab_size=400, n_positions=512):
    """A tiny GPT-2 (2 layers, width 32) and a BPE tokenizer trained on ``texts``."""
    return save_config_backbone(path, texts, vocab_size=vocab_size, n_positions=n_positions)


def tricky_table(num_rows=120, seed=0):
    """Values with commas, quotes, newlines, missing cells, negatives, decimals and dates."""
    rng = np.random.default_rng(seed)
    names = ['plain', 'a, b', 'say "hi"', 'two\nlines', 'None', '', ' spaced ', 'ünï']
    return pd.DataFrame({
        'name': rng.choice(names, num_rows),
        'amount': np.round(rng.normal(0, 50, num_rows), 2),
        'count': rng.integers(0, 40, num_rows),
        'flag': rng.choice([True, False], num_rows),
        'when': pd.to_datetime('2020-01-01') + pd.to_timedelta(rng.integers(0, 400, num_rows),
                                                               unit='D'),
        'maybe': np.where(rng.random(num_rows) < 0.3, np.nan, rng.integers(1, 9, num_rows)),
    })


TRICKY_METADATA = {
    'name': {'sdtype': 'categorical'},
    'amount': {'sdtype': 'numerical'},
    'count': {'sdtype': 'numerical'},
    'flag': {'sdtype': 'boolean'},
    'when': {'sdtype': 'datetime'},
    'maybe': {'sdtype': 'numerical'},
}


@pytest.fixture(scope='session')
def tiny_backbone(tmp_path_factory):
    """The directory of a tiny GPT-2 and its tokenizer, trained on the tricky table's text."""
    path = tmp_path_factory.mktemp('tiny-gpt2')
    data = tricky_table(400, seed=1)
    texts = [' '.join(f'{c} is {v},' for c, v in row.items()) for _, row in data.iterrows()]
    texts += ['{"a": 1, "b": "x"}\n', 'a,b\n1,"x, y"\n', 'age is 39, workclass is State-gov\n']
    return build_backbone(path, texts * 3)
