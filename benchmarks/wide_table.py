"""A wide numeric table: fit and sample time and peak memory as columns grow.

    python -m benchmarks.wide_table --columns 500 --rows 10000 --epochs 1

The table is made here (nothing to download): ``columns`` correlated Gaussian measurements with
2 decimals, a shared latent factor making every pair depend, seeded. ``LLMSynthesizer`` runs with
its defaults except ``epochs`` (a 500-column row is about 1,000 tokens; the default epoch rule
would train for hours on 2 CPU cores) and samples as many rows as it fitted. Peak RSS is the
process's high-water mark (``VmHWM``), which includes the table and the Python runtime.
"""

import argparse
import json
import time

import numpy as np
import pandas as pd

from sdv_llm.benchmark.rss import peak_mb as peak_rss_mb


def wide_table(columns, rows, seed=0):
    """``rows`` x ``columns`` float64 measurements with 2 decimals (a seeded pandas frame)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 1))
    loadings = rng.uniform(0.3, 0.9, size=(1, columns))
    values = latent * loadings + rng.normal(size=(rows, columns)) * np.sqrt(1 - loadings**2)
    scale = rng.uniform(1, 1000, size=(1, columns))
    return pd.DataFrame(np.round(values * scale, 2), columns=[f'x{i}' for i in range(columns)])


def main(argv=None):
    from sdv.metadata import Metadata

    from sdv_llm import LLMSynthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--columns', type=int, default=500)
    parser.add_argument('--rows', type=int, default=10_000)
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--column-order', default='fd')
    args = parser.parse_args(argv)
    data = wide_table(args.columns, args.rows)
    metadata = Metadata.detect_from_dataframes({'wide': data})
    synthesizer = LLMSynthesizer(metadata, epochs=args.epochs, column_order=args.column_order,
                                 enable_gpu=False, random_state=0)
    started = time.perf_counter()
    synthesizer.fit({'wide': data})
    fit_seconds = time.perf_counter() - started
    fit_peak = peak_rss_mb()
    started = time.perf_counter()
    sampled = synthesizer.sample(args.rows)['wide']
    sample_seconds = time.perf_counter() - started
    model = synthesizer._model
    result = {'columns': args.columns, 'rows': args.rows, 'epochs': args.epochs,
              'tokens_per_row': int(model.serializer.max_length),
              'vocabulary': model.serializer.vocab_size,
              'parameters': sum(p.numel() for p in model.model.parameters()),
              'fit_seconds': round(fit_seconds, 1), 'fit_peak_rss_mb': round(fit_peak),
              'sample_seconds': round(sample_seconds, 1), 'sampled_rows': len(sampled),
              'peak_rss_mb': round(peak_rss_mb())}
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
