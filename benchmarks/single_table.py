"""Single-table benchmark: LLMSynthesizer beside SDV's baselines, same split, same process.

Usage (from the repository root)::

    python -m benchmarks.single_table --datasets adult \
        --synthesizers LLMSynthesizer,GaussianCopulaSynthesizer,CTGANSynthesizer,TVAESynthesizer \
        --output benchmarks/results/adult.json

Each synthesizer fits on the same seeded 80 % train split and samples as many rows as train has;
the synthetic rows are scored against the train rows (SDMetrics quality with default
thresholds and with all pairs, diagnostic) and checked for invalid rows (values outside the
metadata's categories or ranges, unparsable datetimes). Times are wall-clock seconds.
"""

import argparse
import json
import platform
import resource
import time
import warnings

import numpy as np
import pandas as pd
import torch

from benchmarks.datasets import DEFAULT_DATA_DIR, load_dataset
from sdv_llm.evaluation import quality_scores


def make_synthesizer(name, metadata, device='cpu', llm_params=None):
    """A synthesizer by class name, with the protocol's settings (300 epochs for CTGAN/TVAE)."""
    from sdv.single_table import (
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    from sdv_llm.single_table import LLMSynthesizer

    cuda = device == 'cuda'
    if name == 'LLMSynthesizer':
        return LLMSynthesizer(metadata, enable_gpu=cuda, **(llm_params or {}))
    if name == 'GaussianCopulaSynthesizer':
        return GaussianCopulaSynthesizer(metadata)
    if name == 'CTGANSynthesizer':
        return CTGANSynthesizer(metadata, epochs=300, enable_gpu=cuda)
    if name == 'TVAESynthesizer':
        return TVAESynthesizer(metadata, epochs=300, enable_gpu=cuda)
    raise ValueError(f'Unknown synthesizer {name!r}.')


def invalid_rows(synthetic, metadata, table_name):
    """Rows with a value the metadata does not allow (unknown category, out of range, bad date).

    Returns:
        int: number of invalid rows.
    """
    columns = metadata.tables[table_name].columns
    bad = np.zeros(len(synthetic), dtype=bool)
    for column, spec in columns.items():
        if column not in synthetic:
            continue
        values = synthetic[column]
        present = values.notna()
        sdtype = spec.get('sdtype')
        if sdtype in ('categorical', 'ordinal') and spec.get('range_values'):
            allowed = {str(v) for v in spec['range_values']}
            bad |= present & ~values.astype(str).isin(allowed)
        elif sdtype == 'numerical':
            numbers = pd.to_numeric(values, errors='coerce')
            bad |= present & numbers.isna()
            if spec.get('range_min') is not None:
                bad |= present & (numbers < spec['range_min'] - 1e-9)
            if spec.get('range_max') is not None:
                bad |= present & (numbers > spec['range_max'] + 1e-9)
        elif sdtype == 'datetime':
            parsed = pd.to_datetime(values, format=spec.get('datetime_format'), errors='coerce')
            bad |= present & parsed.isna()
        if not spec.get('range_is_nullable', True):
            bad |= ~present
    return int(bad.sum())


def run_one(dataset, synthesizer_name, train, metadata, device='cpu', llm_params=None):
    """Fit, sample and score one synthesizer; returns a flat dict of results."""
    table_name = metadata._get_single_table_name()
    synthesizer = make_synthesizer(synthesizer_name, metadata, device, llm_params)
    started = time.perf_counter()
    synthesizer.fit({table_name: train})
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = synthesizer.sample(num_rows=len(train))[table_name]
    sample_seconds = time.perf_counter() - started
    result = {
        'dataset': dataset, 'synthesizer': synthesizer_name, 'rows': len(train),
        'sampled_rows': len(synthetic), 'fit_seconds': fit_seconds,
        'sample_seconds': sample_seconds, 'rows_per_second': len(synthetic) / sample_seconds,
        'invalid_rows': invalid_rows(synthetic, metadata, table_name),
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if synthesizer_name == 'LLMSynthesizer':
        model = synthesizer._model
        losses = model.loss_values
        result.update({'epochs_run': len(losses), 'vocab_size': model.serializer.vocab_size,
                       'tokens_per_row': model.serializer.max_length,
                       'parameters': sum(p.numel() for p in model.model.parameters()),
                       'llm_params': json.dumps(llm_params or {})})
    result.update(quality_scores(train, synthetic, metadata))
    return result


def environment():
    """Hardware and library versions for the results file."""
    import sdv
    import transformers

    return {'cpu': platform.processor() or platform.machine(), 'cores': torch.get_num_threads(),
            'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            'python': platform.python_version(), 'torch': torch.__version__,
            'sdv': sdv.__version__, 'transformers': transformers.__version__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--datasets', default='adult')
    parser.add_argument('--synthesizers', default='LLMSynthesizer,GaussianCopulaSynthesizer')
    parser.add_argument('--data-dir', default=str(DEFAULT_DATA_DIR))
    parser.add_argument('--max-rows', type=int, default=None)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--llm-params', default='{}', help='JSON dict of LLMSynthesizer params')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-split', action='store_true',
                        help='fit on the whole table (as the protocol\'s full-Adult numbers did)')
    parser.add_argument('--output', default=None, help='JSON file for the results')
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore')
    llm_params = json.loads(args.llm_params)
    llm_params.setdefault('random_state', args.seed)
    results = []
    for dataset in args.datasets.split(','):
        train, holdout, metadata = load_dataset(dataset, args.data_dir, args.max_rows, args.seed)
        if args.no_split:
            train = pd.concat([train, holdout], ignore_index=True)
        for name in args.synthesizers.split(','):
            result = run_one(dataset, name, train, metadata, args.device, llm_params)
            result.update(environment())
            results.append(result)
            print(json.dumps(result), flush=True)
            if args.output:
                with open(args.output, 'w') as handle:
                    json.dump(results, handle, indent=2)
    return pd.DataFrame(results)


if __name__ == '__main__':
    main()
