"""SDV constraints on Adult: LLMSynthesizer with and without them, beside GaussianCopula.

    python -m benchmarks.constraints_adult --data-dir ../shared/data \
        --output benchmarks/results/constraints/adult.json

Adds ``Inequality('education-num', 'age')`` and ``FixedCombinations(['marital-status',
'relationship'])`` (both hold on every real row) and reports, for LLMSynthesizer (defaults,
seed 0) unconstrained and constrained and for GaussianCopulaSynthesizer with the same
constraints: fit seconds, quality of 20,000 sampled rows, rows breaking a constraint among
them, among the model's own rows before SDV's check (LLM: how much the decoding rules
enforce alone), and in conditioned sampling (``sample_remaining_columns`` with
``education-num = 16`` and ``sample_from_conditions`` on ``relationship``). Then the table
where the inequality bites (``high = low + U(1, 30)``): ``sample_remaining_columns`` with
``low = 45``.
"""

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from benchmarks.report_file import machine, write_report
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.evaluation.quality import quality_scores

ROWS = 20_000  # sampled rows per synthesizer


def _constraints():
    from sdv.cag import FixedCombinations, Inequality

    return [Inequality('education-num', 'age'),
            FixedCombinations(['marital-status', 'relationship'])]


def _broken(rows, real):
    """Rows breaking each constraint (checked directly, not through SDV)."""
    seen = set(map(tuple, real[['marital-status', 'relationship']].to_numpy()))
    pairs = map(tuple, rows[['marital-status', 'relationship']].to_numpy())
    return {'inequality': int((rows['education-num'] > rows['age']).sum()),
            'fixed_combinations': int(sum(pair not in seen for pair in pairs))}


def _run(name, synthesizer, dataset, constrained):
    from sdv.sampling import Condition

    data = {dataset.table_name: dataset.train}
    if constrained:
        synthesizer.add_constraints(_constraints())
    started = time.perf_counter()
    synthesizer.fit(data)
    result = {'synthesizer': name, 'constrained': constrained,
              'fit_seconds': time.perf_counter() - started}
    started = time.perf_counter()
    rows = next(iter(synthesizer.sample(ROWS).values()))
    result['sample_seconds'] = time.perf_counter() - started
    result['rows'] = len(rows)
    result.update(quality_scores(dataset.train, rows, dataset.metadata, dataset.table_name))
    result['broken'] = _broken(rows, dataset.train)
    model = getattr(synthesizer, '_model', None)
    if constrained and hasattr(model, 'sample_known'):  # LLM: its rows before SDV's check
        result['broken_before_check'] = _broken(model.sample(ROWS), dataset.train)
    if constrained:
        known = pd.DataFrame({'education-num': [16] * 2000})
        remaining = next(iter(synthesizer.sample_remaining_columns(known).values()))
        conditioned = next(iter(synthesizer.sample_from_conditions(
            [Condition({'relationship': 'Wife'}, num_rows=2000)]).values()))
        result['conditioned_rows'] = len(remaining) + len(conditioned)
        broken = [_broken(remaining, dataset.train), _broken(conditioned, dataset.train)]
        result['broken_conditioned'] = {k: sum(b[k] for b in broken) for k in broken[0]}
    return result


def _biting_table(seed=0):
    """``sample_remaining_columns(low = 45)`` where ``high = low + U(1, 30)``."""
    from sdv.cag import Inequality
    from sdv.metadata import Metadata

    from sdv_llm.single_table import LLMSynthesizer

    rng = np.random.default_rng(seed)
    low = rng.integers(20, 60, 2000)
    data = pd.DataFrame({'low': low, 'high': low + rng.integers(1, 31, 2000),
                         'group': rng.choice(['a', 'b', 'c'], 2000)})
    synthesizer = LLMSynthesizer(Metadata.detect_from_dataframes({'t': data}), random_state=seed,
                                 enable_gpu=False)
    synthesizer.add_constraints([Inequality('low', 'high')])
    synthesizer.fit({'t': data})
    rows = synthesizer.sample_remaining_columns(pd.DataFrame({'low': [45] * 200}))['t']
    return {'rows': len(rows), 'high_below_45': int((rows['high'] < 45).sum())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', default=None)
    parser.add_argument('--max-rows', type=int, default=None, help='subsample (smoke runs)')
    parser.add_argument('--llm-params', default='{}', help='JSON LLMSynthesizer parameters')
    args = parser.parse_args(argv)

    from sdv.single_table import GaussianCopulaSynthesizer

    from sdv_llm.single_table import LLMSynthesizer

    dataset = load_dataset('adult', data_dir=args.data_dir, max_rows=args.max_rows)
    params = {'random_state': args.seed, 'enable_gpu': False, **json.loads(args.llm_params)}
    runs = []
    for constrained in (False, True):
        synthesizer = LLMSynthesizer(dataset.metadata, **params)
        runs.append(_run('LLMSynthesizer', synthesizer, dataset, constrained))
        print(json.dumps(runs[-1], default=float), flush=True)
    runs.append(_run('GaussianCopulaSynthesizer', GaussianCopulaSynthesizer(dataset.metadata),
                     dataset, True))
    report = {'dataset': 'adult', 'training_rows': len(dataset.train), 'runs': runs,
              'llm_parameters': params, 'biting_table': _biting_table(args.seed),
              'fit_ratio_constrained_over_plain': runs[1]['fit_seconds'] / runs[0]['fit_seconds'],
              'quality_change': runs[1]['quality'] - runs[0]['quality'], **machine()}
    return write_report(report, args.output)


if __name__ == '__main__':
    sys.exit(main())
