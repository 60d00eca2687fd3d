"""A fitted LLMSynthesizer distilled into a FASTGEN script, scored beside the LLM it came from.

    python -m benchmarks.fastgen_distill --data-dir ../shared/data --dataset adult \
        --output benchmarks/results/fastgen/distill_adult.json

Fits LLMSynthesizer (defaults, seed 0, CPU) on the training split, samples as many rows as
the training split and scores them with the harness's metrics (quality, TSTR, DCR, ...);
then distills it (``LLMSynthesizer.export_script``'s path: FastGen fitted on ``--distill-rows``
rows sampled from the LLM), samples the same number of rows from the distilled model (the
script's code) and scores those. FastGen fitted on the real training split is scored too.
"""

import argparse
import sys
import time
from pathlib import Path

from benchmarks.report_file import machine, write_report
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.benchmark.runner import score_single_table

_KEYS = ('quality', 'column_shapes', 'column_pair_trends', 'quality_all_pairs', 'diagnostic',
         'invalid_rows',
         'detection', 'tstr', 'trtr', 'dcr_share')


def _score(dataset, synthesizer, num_rows, seed):
    started = time.perf_counter()
    table = next(iter(synthesizer.sample(num_rows).values()))
    seconds = time.perf_counter() - started
    scores = score_single_table(dataset, table, seed=seed)
    return {'sample_seconds': seconds, **{k: scores.get(k) for k in _KEYS}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', default=None)
    parser.add_argument('--dataset', default='adult')
    parser.add_argument('--distill-rows', type=int, default=20_000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--script', default='/tmp/fastgen-distill/adult_from_llm.py')
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)

    from sdv_llm.fastgen.distill import distill
    from sdv_llm.fastgen.synthesizer import FastGenSynthesizer
    from sdv_llm.single_table import LLMSynthesizer

    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    data = {dataset.table_name: dataset.train}
    rows = len(dataset.train)
    report = {'dataset': args.dataset, 'training_rows': rows, 'distill_rows': args.distill_rows}

    started = time.perf_counter()
    llm = LLMSynthesizer(dataset.metadata, random_state=args.seed, enable_gpu=False)
    llm.fit(data)
    report['llm_fit_seconds'] = time.perf_counter() - started
    llm.reset_sampling()
    report['llm'] = _score(dataset, llm, rows, args.seed)

    started = time.perf_counter()
    student = distill(llm, args.distill_rows, random_state=args.seed)
    report['distill_seconds'] = time.perf_counter() - started
    Path(args.script).parent.mkdir(parents=True, exist_ok=True)
    student.export_script(args.script, command='python -m benchmarks.fastgen_distill')
    report['distilled'] = _score(dataset, student, rows, args.seed)

    direct = FastGenSynthesizer(dataset.metadata, random_state=args.seed)
    direct.fit(data)
    report['fastgen_on_real'] = _score(dataset, direct, rows, args.seed)
    report.update(machine())
    return write_report(report, args.output)


if __name__ == '__main__':
    sys.exit(main())
