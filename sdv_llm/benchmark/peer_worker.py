"""Fit one peer generator on a CSV file and sample rows: runs INSIDE the peers' environment.

Usage: ``PEERS_PYTHON peer_worker.py JOB.json``. This file imports nothing from sdv_llm (the
peers' environment need not have it); it loads the standard-library-only ``rss.py`` beside it by
path, for its own peak memory. The job names the peer, the train CSV, the number of
rows, the seed, the device, the peer's parameters and each column's kind (numerical,
datetime, categorical); the worker writes the sampled rows as CSV and a result JSON with
``fit_seconds``, ``sample_seconds``, ``peak_rss_mb``, ``cuda_max_allocated_mb``,
``model_bytes`` and ``version``.
"""

import importlib.util
import json
import os
import sys
import time
import warnings
from pathlib import Path

# This file's folder holds modules named like the peers' dependencies (``datasets``).
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]


def _rss():
    """sdv_llm's ``rss`` module, loaded by path (standard library only; see its docstring)."""
    spec = importlib.util.spec_from_file_location('_sdv_llm_rss', Path(__file__).with_name('rss.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(job):
    import pandas as pd

    data = pd.read_csv(job['train'])
    for column, kind in job['columns'].items():
        if kind == 'categorical':
            data[column] = data[column].astype(object).where(data[column].notna())
            data[column] = data[column].map(lambda v: v if v is None else str(v))
    return data


def _size(path):
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file())


def _saved_size(model, folder):
    """Bytes of ``model.save(folder)``; ``None`` when the peer's own save fails."""
    try:
        model.save(str(folder))
    except Exception as error:  # noqa: BLE001  a peer's save bug must not lose its samples
        print(f'save failed: {type(error).__name__}: {error}', file=sys.stderr)
        return None
    return _size(folder)


def tabularargn(job, data):
    """TabularARGN from mostlyai-engine (defaults: up to 100 epochs, early stopping).

    Sampling replaces protected rare categories by sampled frequent ones
    (``rare_category_replacement_method='SAMPLE'``) instead of the ``_RARE_`` token, which
    is not a value of the table; ``sample_params`` in the parameters overrides that.
    """
    from mostlyai.engine import TabularARGN, __version__

    kinds = {'numerical': 'TABULAR_NUMERIC_AUTO', 'datetime': 'TABULAR_DATETIME',
             'categorical': 'TABULAR_CATEGORICAL'}
    params = dict(job['params'])
    sample_params = {'rare_category_replacement_method': 'SAMPLE',
                     **params.pop('sample_params', {})}
    if isinstance(params.get('differential_privacy'), dict):
        # mostlyai-engine reads the settings as attributes: its own config class (max_epsilon
        # is the whole budget, value protection's share included).
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        params['differential_privacy'] = DifferentialPrivacyConfig(
            **params['differential_privacy'])
    model = TabularARGN(tgt_encoding_types={c: kinds[k] for c, k in job['columns'].items()},
                        device=job['device'], workspace_dir=job['workdir'],
                        random_state=job['seed'], **params)
    started = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_samples=job['num_rows'], **sample_params)
    return synthetic, fit_seconds, time.perf_counter() - started, _size(job['workdir']), \
        __version__


def realtabformer(job, data):
    """REaLTabFormer: a GPT-2 trained from scratch (its critic is off unless n_critic is set)."""
    from realtabformer import REaLTabFormer, __version__

    params = dict(job['params'])
    n_critic = params.pop('n_critic', 0)
    work = Path(job['workdir'])
    model = REaLTabFormer(model_type='tabular', checkpoints_dir=str(work / 'checkpoints'),
                          samples_save_dir=str(work / 'samples'),
                          full_save_dir=str(work / 'full'), random_state=job['seed'],
                          report_to='none', **params)
    started = time.perf_counter()
    model.fit(data, n_critic=n_critic, device=job['device'])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_samples=job['num_rows'], device=job['device'])
    sample_seconds = time.perf_counter() - started
    return synthetic, fit_seconds, sample_seconds, _saved_size(model, work / 'saved'), \
        __version__


def _random_gpt2(data, folder, seed, n_embd=128, n_layer=2):
    """A randomly initialised GPT-2 and a byte-level BPE tokenizer trained on the rows' text."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    torch.manual_seed(seed)
    text = [', '.join(f'{c} is {v}' for c, v in row.items()) for _, row in data.iterrows()]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(text, vocab_size=2000, special_tokens=['<|endoftext|>'])
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))
    tokenizer = GPT2TokenizerFast(vocab_file=str(folder / 'vocab.json'),
                                  merges_file=str(folder / 'merges.txt'))
    tokenizer.save_pretrained(str(folder))
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=n_embd, n_layer=n_layer, n_head=4,
                        n_positions=512, bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(str(folder))


def great(job, data):
    """GReaT (be-great) fine-tuning a LOCAL randomly initialised GPT-2 (nothing downloaded)."""
    from importlib.metadata import version

    from be_great import GReaT

    params = dict(job['params'])
    work = Path(job['workdir'])
    _random_gpt2(data, work / 'llm', job['seed'], params.pop('n_embd', 128),
                 params.pop('n_layer', 2))
    model = GReaT(str(work / 'llm'), experiment_dir=str(work / 'trainer'), report_to=[],
                  save_strategy='no', seed=job['seed'], **params)
    started = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_samples=job['num_rows'], device=job['device'])
    sample_seconds = time.perf_counter() - started
    return synthetic, fit_seconds, sample_seconds, _saved_size(model, work / 'saved'), \
        version('be-great')


PEERS = {'tabularargn': tabularargn, 'realtabformer': realtabformer, 'great': great}


def main(path):
    """Run the job described by the JSON file at ``path``."""
    warnings.filterwarnings('ignore')
    job = json.loads(Path(path).read_text())
    os.makedirs(job['workdir'], exist_ok=True)
    data = _read(job)
    synthetic, fit_seconds, sample_seconds, model_bytes, version = PEERS[job['peer']](job, data)
    synthetic.to_csv(job['output'], index=False)
    cuda = None
    if job['device'] == 'cuda':
        import torch

        cuda = torch.cuda.max_memory_allocated() / 2 ** 20
    Path(job['result']).write_text(json.dumps({
        'fit_seconds': fit_seconds, 'sample_seconds': sample_seconds,
        'peak_rss_mb': _rss().peak_mb(),
        'cuda_max_allocated_mb': cuda, 'model_bytes': model_bytes, 'version': str(version)}))


if __name__ == '__main__':
    main(sys.argv[1])
