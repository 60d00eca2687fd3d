"""FASTGEN script speed: 1,000,000 Adult rows from the exported script in a numpy+pandas venv.

    python -m benchmarks.fastgen_speed --data-dir ../shared/data --venv /tmp/fastgen-venv \
        --output benchmarks/results/fastgen/speed.json

Fits FastGenSynthesizer (copula) on the Adult training split, exports the script, makes (or
reuses) a virtual environment holding only numpy and pandas, and there times (best of
``--repeats``) generating ``--rows`` rows in memory (the sampling) and writing them to CSV,
with the process's peak resident memory (chunks of 200,000 rows are not kept).
Beside it, in this environment, GaussianCopulaSynthesizer's ``sample`` of the same number of
rows (one run: it takes seconds). Ratios are of the same run on the same machine.
"""

import argparse
import json
import subprocess
import sys
import time
import venv
from pathlib import Path

from benchmarks.report_file import machine, write_report
from sdv_llm.benchmark.datasets import load_dataset

_TIMER = '''
import json, runpy, sys, time
namespace = runpy.run_path(sys.argv[1])
rows, repeats, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
spec, sample_table, write_table = namespace['SPEC'], namespace['sample_table'], namespace['write_table']
best = float('inf')
for _ in range(repeats):
    started = time.perf_counter()
    total = sum(len(chunk) for chunk in sample_table(spec, rows, 0))
    best = min(best, time.perf_counter() - started)
started = time.perf_counter()
write_table(spec, rows, out, 0)
written = time.perf_counter() - started
import numpy, pandas, resource
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
modules = sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in
                 ('scipy', 'sdv', 'sdv_llm', 'torch', 'sklearn'))
print(json.dumps({'rows': total, 'sample_seconds': best, 'csv_seconds': written,
                  'peak_rss_mb': peak_mb, 'numpy': numpy.__version__, 'pandas': pandas.__version__,
                  'forbidden_modules_loaded': modules}))
'''


def numpy_pandas_venv(path):
    """A virtual environment with numpy and pandas only (created once, then reused).

    Returns:
        pathlib.Path: its Python.
    """
    path = Path(path)
    python = path / 'bin' / 'python'
    if not python.exists():
        venv.create(path, with_pip=True)
        subprocess.run([str(python), '-m', 'pip', 'install', '-q', 'numpy', 'pandas'], check=True)
    return python


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', default=None)
    parser.add_argument('--venv', default='/tmp/fastgen-venv')
    parser.add_argument('--rows', type=int, default=1_000_000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--workdir', default='/tmp/fastgen-speed')
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)

    from sdv.single_table import GaussianCopulaSynthesizer

    from sdv_llm.fastgen.synthesizer import FastGenSynthesizer

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset('adult', data_dir=args.data_dir)
    data = {dataset.table_name: dataset.train}
    started = time.perf_counter()
    fastgen = FastGenSynthesizer(dataset.metadata)
    fastgen.fit(data)
    fit_seconds = time.perf_counter() - started
    script = fastgen.export_script(workdir / 'adult_sampler.py',
                                   command='python -m benchmarks.fastgen_speed')
    python = numpy_pandas_venv(args.venv)
    timer = workdir / 'timer.py'
    timer.write_text(_TIMER)
    result = subprocess.run([str(python), str(timer), str(script), str(args.rows),
                             str(args.repeats), str(workdir / 'adult_1m.csv')],
                            check=True, capture_output=True, text=True)
    script_run = json.loads(result.stdout.strip().splitlines()[-1])

    copula = GaussianCopulaSynthesizer(dataset.metadata)
    copula.fit(data)
    started = time.perf_counter()
    copula.sample(args.rows)
    copula_seconds = time.perf_counter() - started

    report = {
        'rows': args.rows, 'training_rows': len(dataset.train),
        'fastgen_fit_seconds': fit_seconds,
        'script_bytes': script.stat().st_size,
        'script_sample_seconds': script_run['sample_seconds'],
        'script_rows_per_second': args.rows / script_run['sample_seconds'],
        'script_csv_seconds': script_run['csv_seconds'],
        'script_peak_rss_mb': script_run['peak_rss_mb'],
        'venv_numpy': script_run['numpy'], 'venv_pandas': script_run['pandas'],
        'forbidden_modules_loaded': script_run['forbidden_modules_loaded'],
        'gaussian_copula_sample_seconds': copula_seconds,
        'gaussian_copula_rows_per_second': args.rows / copula_seconds,
        'speedup_vs_gaussian_copula': copula_seconds / script_run['sample_seconds'],
        **machine(),
    }
    return write_report(report, args.output)


if __name__ == '__main__':
    sys.exit(main())
