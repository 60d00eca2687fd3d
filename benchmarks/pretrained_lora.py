"""LoRA on a pretrained-style backbone in each text serialization, beside the default backbone.

Usage (from the repository root)::

    # the CPU acceptance: a tiny GPT-2 on a 2,000-row slice of Adult
    python -m benchmarks.pretrained_lora --rows 2000 --size tiny --epochs 1 \
        --output benchmarks/results/pretrained_lora_cpu.json
    # the GPU numbers: GPT-2 small (124M parameters, 50k vocabulary) built from a config
    python -m benchmarks.pretrained_lora --rows 32561 --size gpt2-small --epochs 1 \
        --device cuda --output benchmarks/results/pretrained_lora_gpu.json

Weights cannot be downloaded here: the backbone is randomly initialised from a config and its
BPE tokenizer is trained on the table's text, so the run measures cost (training tokens per
second, sampling rows per second, peak memory) and validity, not the quality a real
checkpoint brings. Every sampled row is checked against the fitted column domains and the SDV
metadata (``invalid_rows``).
"""

import argparse
import json
import tempfile
import time

import numpy as np

from sdv_llm.benchmark.cost import measure
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.benchmark.runner import environment
from sdv_llm.evaluation.validity import invalid_rows
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.backbones import save_config_backbone

SIZES = {
    'tiny': {'vocab_size': 1000, 'embedding_dim': 64, 'num_layers': 2, 'num_heads': 2},
    'gpt2-small': {'vocab_size': 50257, 'embedding_dim': 768, 'num_layers': 12,
                   'num_heads': 12},
    # Qwen2.5's logits width (151,936) on a small model: what the automaton table costs there.
    'qwen-width': {'vocab_size': 151936, 'embedding_dim': 64, 'num_layers': 2, 'num_heads': 2},
}


def config_backbone(folder, dataset, size):
    """Build a randomly initialised backbone of ``SIZES[size]`` with a BPE tokenizer trained
    on the dataset's rows as text; returns its directory."""
    spec = SIZES[size]
    texts = [', '.join(f'{c} is {v}' for c, v in row.items())
             for row in dataset.train.astype(str).to_dict('records')]
    started = time.perf_counter()
    path = save_config_backbone(folder, texts, vocab_size=spec['vocab_size'],
                                embedding_dim=spec['embedding_dim'],
                                num_layers=spec['num_layers'], num_heads=spec['num_heads'],
                                n_positions=1024)
    print(f'backbone {size} built in {time.perf_counter() - started:.1f} s')
    return path


def save_json(output, path):
    """Write ``output`` as indented JSON to ``path`` (when given); returns ``output``."""
    if path:
        with open(path, 'w') as handle:
            json.dump(output, handle, indent=2, default=str)
    return output


def _rows(result, table):
    return result[table] if isinstance(result, dict) else result


def strict_invalid(synthesizer, sampled):
    """Rows with a value outside the fitted domain (value set, range, places, nulls)."""
    lm = synthesizer._model
    bad = np.zeros(len(sampled), dtype=bool)
    for column in lm.schema.order:
        codec = lm.schema.codecs[column]
        for row, value in enumerate(sampled[column]):
            if bad[row]:
                continue
            try:
                codec.check_values([value])
            except ValueError:
                bad[row] = True
    return int(bad.sum())


def run_one(name, dataset, params, sample_rows, device):
    """Fit, sample and measure one synthesizer configuration."""
    cuda = device == 'cuda'
    synth = LLMSynthesizer(dataset.metadata, enable_gpu=cuda, random_state=0, **params)
    with measure(cuda) as fit_cost:
        synth.fit({dataset.table_name: dataset.train})
    lm = synth._model
    epochs = len(lm.loss_values)
    if lm.pretrained is not None:
        ids, _ = lm.serializer.assemble(lm.serializer.encode_blocks(dataset.train))
        tokens = int((ids != lm.serializer.pad).sum()) + len(ids)  # + the <eos>
    else:
        tokens = int((lm.serializer.encode(dataset.train) != 0).sum())
    with measure(cuda) as sample_cost:
        sampled = _rows(synth.sample(sample_rows), dataset.table_name)
    parameters = sum(p.numel() for p in lm.model.parameters())
    trainable = sum(p.numel() for p in lm.model.parameters() if p.requires_grad)
    return {
        'configuration': name,
        'serialization': lm.serializer.name,
        'parameters': parameters,
        'trainable_parameters': trainable,
        'automaton_states': lm.automaton.num_states,
        'max_tokens_per_row': lm.serializer.max_length,
        'epochs_run': epochs,
        'fit_seconds': fit_cost.seconds,
        'training_tokens_per_second': tokens * epochs / fit_cost.seconds,
        'sample_rows': len(sampled),
        'sample_seconds': sample_cost.seconds,
        'rows_per_second': len(sampled) / sample_cost.seconds,
        'fit_peak_rss_mb': fit_cost.peak_rss_mb,
        'sample_peak_rss_mb': sample_cost.peak_rss_mb,
        'fit_cuda_max_allocated_mb': fit_cost.cuda_max_allocated_mb,
        'sample_cuda_max_allocated_mb': sample_cost.cuda_max_allocated_mb,
        'invalid_rows_metadata': invalid_rows(sampled, dataset.metadata),
        'invalid_rows_strict': strict_invalid(synth, sampled),
        'final_loss': float(lm.loss_values['Loss'].iloc[-1]),
    }


def compile_only(dataset, path, formats, logits_width=None):
    """Time the row automaton of each format against the backbone's tokenizer, no training.

    ``logits_width`` (default: the backbone's) sets the table's width, as a model whose output
    layer is wider than its tokenizer (Qwen2.5: 151,936) has.
    """
    from sdv_llm.decoding.text_automaton import TextTokenAutomaton
    from sdv_llm.model.pretrained import load_config, load_tokenizer
    from sdv_llm.schema import TableSchema
    from sdv_llm.serialization.text import TextSerializer

    tokenizer = load_tokenizer(path)
    columns = dataset.metadata.tables[dataset.table_name].columns
    modelled = [c for c in dataset.train.columns if c in columns]
    schema = TableSchema.fit(dataset.train[modelled], {c: columns[c] for c in modelled}, True,
                             None, 'fixed')
    results = []
    for fmt in formats:
        serializer = TextSerializer(schema, tokenizer, fmt,
                                    vocab_size=max(load_config(path).vocab_size,
                                                   logits_width or 0))
        with measure() as cost:
            automaton = TextTokenAutomaton.compile(serializer)
        results.append({'serialization': fmt, 'tokenizer_tokens': len(tokenizer),
                        'logits_width': serializer.vocab_size,
                        'automaton_states': automaton.num_states,
                        'table_mb': automaton.transitions.nbytes / 2**20,
                        'sparse_table': automaton.transitions.sparse,
                        'dense_table_mb': automaton.num_states * serializer.vocab_size * 8
                        / 2**20,
                        'compile_seconds': cost.seconds, 'peak_rss_mb': cost.peak_rss_mb,
                        'max_tokens_per_row': serializer.max_length})
        print(json.dumps(results[-1]))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dataset', default='adult')
    parser.add_argument('--rows', type=int, default=2000, help='rows before the 80/20 split')
    parser.add_argument('--size', choices=sorted(SIZES), default='tiny')
    parser.add_argument('--formats', default='text,json,csv')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--lora-r', type=int, default=16)
    parser.add_argument('--sample-rows', type=int, default=None,
                        help='default: as many rows as the train split')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--no-default', action='store_true',
                        help='skip the embedded default backbone')
    parser.add_argument('--compile-only', action='store_true',
                        help='only time the automaton compile of each format (no training)')
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset, max_rows=args.rows, seed=0)
    sample_rows = args.sample_rows or len(dataset.train)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        path = config_backbone(folder, dataset, args.size)
        if args.compile_only:
            output = {'dataset': args.dataset, 'rows': args.rows, 'size': args.size,
                      'environment': environment(),
                      'compile': compile_only(dataset, path, args.formats.split(','),
                                              SIZES[args.size]['vocab_size'])}
            return save_json(output, args.output)
        for fmt in args.formats.split(','):
            params = {'backbone': path, 'serialization': fmt, 'epochs': args.epochs,
                      'batch_size': args.batch_size, 'column_order': 'fixed',
                      'lora': {'r': args.lora_r, 'lora_alpha': 2 * args.lora_r,
                               'lora_dropout': 0.05},
                      'learning_rate': 1e-3, 'sample_batch_size': 1024}
            results.append(run_one(f'{args.size}+LoRA', dataset, params, sample_rows,
                                   args.device))
            print(json.dumps(results[-1]))
    if not args.no_default:
        params = {'epochs': args.epochs, 'batch_size': args.batch_size, 'column_order': 'fixed'}
        results.append(run_one('default', dataset, params, sample_rows, args.device))
        print(json.dumps(results[-1]))
    output = {'dataset': args.dataset, 'rows': args.rows, 'size': args.size,
              'environment': environment(), 'results': results}
    return save_json(output, args.output)


if __name__ == '__main__':
    main()
