"""Sampling speed of two checkouts of sdv_llm on one fitted model, alternated on one machine.

The machines are shared and noisy (runs of one build vary by +-15 % from one minute to the
next), so a speed change is read from alternated runs of both builds on the same model file,
never from numbers of two separate runs. Each round runs every checkout in a fresh process
that loads the model, resets the sampling seed and samples ``--rows`` rows ``--repeats``
times; the medians per checkout and their ratio are printed, and whether the sampled tables
are identical (a change meant to keep every drawn row).

Usage (a model saved with ``LLMSynthesizer.save``; checkouts from ``git worktree add``)::

    python -m benchmarks.sampling_ab --model adult.pkl --rows 26000 --rounds 4 \
        --checkouts ../wt-before . --output benchmarks/results/speed/sampling_ab.json

Fit a model to compare with ``--fit adult`` (``sdv_llm.benchmark.datasets.load_dataset``, the
harness's training split, default parameters) before the rounds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r'''
import json, pickle, sys, time
import sdv_llm
from sdv.single_table import LLMSynthesizer
model, rows, repeats, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
synthesizer = LLMSynthesizer.load(model)
rates = []
for _ in range(repeats):
    synthesizer.reset_sampling()
    start = time.perf_counter()
    sampled = synthesizer.sample(rows)
    rates.append(rows / (time.perf_counter() - start))
table = sampled[next(iter(sampled))] if isinstance(sampled, dict) else sampled
pickle.dump(table, open(out, 'wb'))
print(json.dumps({'package': sdv_llm.__file__, 'rows_per_second': rates}))
'''


def _fit(dataset, data_dir, model):
    from sdv.single_table import LLMSynthesizer

    from sdv_llm.benchmark.datasets import load_dataset

    data = load_dataset(dataset, data_dir)
    synthesizer = LLMSynthesizer(data.metadata)
    synthesizer.fit({data.table_name: data.train})
    synthesizer.save(model)


def _run(checkout, model, rows, repeats, out):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    done = subprocess.run([sys.executable, '-c', WORKER, model, str(rows), str(repeats), out],
                          cwd=checkout, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f'{checkout}: {done.stderr[-2000:]}')
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = os.path.join(os.path.abspath(checkout), 'sdv_llm', '__init__.py')
    if os.path.realpath(result['package']) != os.path.realpath(expected):
        raise RuntimeError(f'{checkout} imported sdv_llm from {result["package"]}')
    return result['rows_per_second']


def main(argv=None):
    """Alternate the checkouts and print (and optionally write) the medians and ratios."""
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', required=True, help='model file (LLMSynthesizer.save)')
    parser.add_argument('--checkouts', nargs=2, required=True, metavar=('BEFORE', 'AFTER'))
    parser.add_argument('--rows', type=int, default=26000)
    parser.add_argument('--repeats', type=int, default=3, help='samples per process')
    parser.add_argument('--rounds', type=int, default=4, help='alternations of the checkouts')
    parser.add_argument('--fit', metavar='DATASET', help='fit the model file first')
    parser.add_argument('--data-dir', default=None)
    parser.add_argument('--output', default=None, help='JSON file of the result')
    args = parser.parse_args(argv)
    if args.fit:
        _fit(args.fit, args.data_dir, args.model)
    rates = {checkout: [] for checkout in args.checkouts}
    with tempfile.TemporaryDirectory() as folder:
        tables = {}
        for round_ in range(args.rounds):
            for index, checkout in enumerate(args.checkouts):
                out = os.path.join(folder, f'{index}.pkl')
                rates[checkout] += _run(checkout, args.model, args.rows, args.repeats, out)
                tables[checkout] = pd.read_pickle(out)
                print(f'round {round_}: {checkout}: '
                      + ' '.join(f'{rate:,.0f}' for rate in rates[checkout][-args.repeats:]),
                      flush=True)
        before, after = (tables[c] for c in args.checkouts)
        identical = bool(before.equals(after))
    medians = {checkout: statistics.median(values) for checkout, values in rates.items()}
    ratio = medians[args.checkouts[1]] / medians[args.checkouts[0]]
    result = {'model': args.model, 'rows': args.rows, 'rows_per_second': rates,
              'median_rows_per_second': medians, 'ratio_after_before': ratio,
              'identical_tables': identical}
    print(json.dumps({k: result[k] for k in ('median_rows_per_second', 'ratio_after_before',
                                             'identical_tables')}, indent=1))
    if args.output:
        with open(args.output, 'w') as file:
            json.dump(result, file, indent=1)
    return result


if __name__ == '__main__':
    main()
