"""A tiny "pretrained" causal LM built from a config, with a BPE tokenizer trained here.

Nothing is downloaded: the tokenizer is trained with ``tokenizers`` on a small text, the model
is a randomly initialised GPT-2 of two layers, and both are written with ``save_pretrained``
to a temporary directory that the tests pass as ``backbone``.
"""

import numpy as np
import pandas as pd
import pytest


def build_backbone(path, texts, vocab_size=400, n_positions=512):
    """Train a byte-level BPE tokenizer on ``texts`` and save it with a tiny GPT-2 to ``path``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=['<|endoftext|>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token='<|endoftext|>',
                                   bos_token='<|endoftext|>')
    fast.save_pretrained(path)
    config = GPT2Config(vocab_size=len(fast), n_positions=n_positions, n_embd=32, n_layer=2,
                        n_head=2, bos_token_id=fast.eos_token_id,
                        eos_token_id=fast.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(path)
    return str(path)


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
