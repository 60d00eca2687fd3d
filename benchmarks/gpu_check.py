"""The GPU measurement in one call: Adult with defaults, then the 124M-parameter LoRA path.

Usage (from the repository root, on a machine with one CUDA GPU; about 5 minutes on an H200)::

    python -m benchmarks.gpu_check --output benchmarks/results/gpu_check.json

It fits ``LLMSynthesizer`` with default parameters on Adult's training split on CUDA, samples
1,000,000 rows, and prints the fit seconds, sampling rows per second, peak GPU memory, invalid
rows and SDMetrics quality (on a seeded 20,000-row subsample against the training rows); then
the same cost figures for GPT-2 small (124M parameters, built from a config, no download) with
LoRA in the JSON serialization (``benchmarks.pretrained_lora``). The target is at least
1,000,000 rows per second with the default backbone on one H200. ``--device cpu`` with small
``--sample-rows``, ``--lora-rows`` and ``--lora-size tiny`` checks the script on a CPU.
"""

import argparse
import json
import tempfile

from benchmarks.pretrained_lora import SIZES, config_backbone, run_one, save_json
from sdv_llm.benchmark.cost import measure
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.benchmark.runner import environment
from sdv_llm.evaluation.validity import invalid_rows
from sdv_llm.single_table import LLMSynthesizer


def default_backbone(dataset, sample_rows, device, sample_batch_size, quality_rows=20_000):
    """Fit with defaults, sample, and measure; returns a dict of the figures."""
    from sdv.evaluation.single_table import evaluate_quality

    cuda = device == 'cuda'
    synthesizer = LLMSynthesizer(dataset.metadata, enable_gpu=cuda, random_state=0,
                                 sample_batch_size=sample_batch_size)
    with measure(cuda) as fit_cost:
        synthesizer.fit({dataset.table_name: dataset.train})
    synthesizer.sample(min(sample_rows, sample_batch_size))  # warm-up (kernels, allocator)
    with measure(cuda) as sample_cost:
        sampled = synthesizer.sample(sample_rows)[dataset.table_name]
    scored = sampled.sample(min(quality_rows, len(sampled)), random_state=0)
    report = evaluate_quality(dataset.train, scored, dataset.metadata, verbose=False)
    model = synthesizer._model
    return {
        'configuration': 'default',
        'parameters': sum(p.numel() for p in model.model.parameters()),
        'epochs_run': len(model.loss_values),
        'fit_seconds': fit_cost.seconds,
        'sample_rows': len(sampled),
        'sample_seconds': sample_cost.seconds,
        'rows_per_second': len(sampled) / sample_cost.seconds,
        'fit_cuda_max_allocated_mb': fit_cost.cuda_max_allocated_mb,
        'sample_cuda_max_allocated_mb': sample_cost.cuda_max_allocated_mb,
        'invalid_rows_metadata': invalid_rows(sampled, dataset.metadata),
        'quality': report.get_score(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', default=None, help='default: ../shared/data or bundled')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cuda')
    parser.add_argument('--sample-rows', type=int, default=1_000_000)
    parser.add_argument('--sample-batch-size', type=int, default=131_072)
    parser.add_argument('--lora-size', choices=sorted(SIZES), default='gpt2-small')
    parser.add_argument('--lora-rows', type=int, default=32_561, help='rows before the split')
    parser.add_argument('--lora-sample-rows', type=int, default=10_000)
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)

    results = {'environment': environment()}
    dataset = load_dataset('adult', args.data_dir, seed=0)
    results['default'] = default_backbone(dataset, args.sample_rows, args.device,
                                          args.sample_batch_size)
    print(json.dumps(results['default']), flush=True)

    lora_data = load_dataset('adult', args.data_dir, max_rows=args.lora_rows, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = config_backbone(folder, lora_data, args.lora_size)
        params = {'backbone': path, 'serialization': 'json', 'epochs': 1, 'batch_size': 32,
                  'column_order': 'fixed', 'learning_rate': 1e-3, 'sample_batch_size': 1024,
                  'lora': {'r': 16, 'lora_alpha': 32, 'lora_dropout': 0.05}}
        results['lora'] = run_one(f'{args.lora_size}+LoRA', lora_data, params,
                                  args.lora_sample_rows, args.device)
    print(json.dumps(results['lora']), flush=True)
    return save_json(results, args.output)


if __name__ == '__main__':
    main()
