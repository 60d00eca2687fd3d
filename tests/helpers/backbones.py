"""A "pretrained" backbone directory built from a config: the stand-in for a real checkpoint.

Model weights cannot be downloaded on these machines, so the tests (and
``benchmarks/pretrained_lora.py``, which measures cost on the same stand-in) write a randomly
initialised GPT-2 and a BPE tokenizer trained on the table's text to a directory they pass as
``backbone``.
"""

import torch


def save_config_backbone(path, texts, vocab_size=1000, embedding_dim=32, num_layers=2,
                         num_heads=2, n_positions=512, seed=0):
    """Write a randomly initialised GPT-2 and a BPE tokenizer trained on ``texts`` to ``path``.

    Model weights cannot be downloaded on these machines, so tests and benchmarks build a
    "pretrained" directory from a config: a byte-level BPE tokenizer trained here with
    ``tokenizers`` and a GPT-2 of the given size, both written with ``save_pretrained``. It
    measures cost, not the quality a real checkpoint brings.

    Args:
        path (str or pathlib.Path): output directory.
        texts (list[str]): what the tokenizer is trained on.
        vocab_size (int): BPE vocabulary size (the 256 byte tokens and ``<|endoftext|>``
            included).
        embedding_dim, num_layers, num_heads (int): GPT-2 size; 768, 12, 12 is GPT-2 small
            (124M parameters with a 50k vocabulary).
        n_positions (int): most positions.
        seed (int): initialisation seed.

    Returns:
        str: ``path``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=['<|endoftext|>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token='<|endoftext|>',
                                   bos_token='<|endoftext|>')
    fast.save_pretrained(path)
    config = GPT2Config(vocab_size=len(fast), n_positions=n_positions, n_embd=embedding_dim,
                        n_layer=num_layers, n_head=num_heads, bos_token_id=fast.eos_token_id,
                        eos_token_id=fast.eos_token_id)
    torch.manual_seed(seed)
    GPT2LMHeadModel(config).save_pretrained(path)
    return str(path)
