"""Which column order wins, and what native conditions cost: the measurements of the order issue.

Usage (from the repository root)::

    python -m benchmarks.column_order --datasets adult,shoppers,default_credit \
        --orders fixed,fd,random --max-rows 10000 --llm-params '{"epochs": 10}' \
        --output benchmarks/results/column_order.json

For each dataset and order, LLMSynthesizer fits on the same seeded train split and samples as
many rows as the holdout has; reported: SDMetrics quality (default thresholds and all pairs),
ML efficacy (train on synthetic, test on the real holdout, beside train on real; scikit-learn
HistGradientBoosting; AUC), and the share of synthetic rows that break an exact functional
dependency of the real data.

With ``--conditions``, the first dataset's model of the first order is also timed on:
``sample_from_conditions`` for a condition of real prevalence under 1 % (native, against SDV's
rejection sampling on the same fitted model), and ``sample_remaining_columns`` for 1,000 distinct
known rows (one batched pass against one call per row); and the conditioned rows' quality is
scored against the matching real rows.
"""

import argparse
import itertools
import json
import time
import types
import warnings

import numpy as np
import pandas as pd

from sdv_llm.benchmark.datasets import DEFAULT_DATA_DIR, load_dataset
from sdv_llm.benchmark.runner import environment
from sdv_llm.evaluation import quality_scores
from sdv_llm.evaluation.dependencies import violation_rate
from sdv_llm.evaluation.efficacy import efficacy_score
from sdv_llm.schema.dependencies import discover_dependencies


def ml_efficacy(fit_data, holdout, dataset):
    """TSTR/TRTR score of ``sdv_llm.evaluation.efficacy`` (AUC, macro F1 or R2)."""
    table = dataset.metadata._get_single_table_name()
    columns = dataset.metadata.tables[table].columns
    sdtypes = {column: spec['sdtype'] for column, spec in columns.items()}
    return efficacy_score(fit_data, holdout, dataset.config.target, dataset.config.task, sdtypes)


def fit(train, metadata, order, params):
    from sdv_llm.single_table import LLMSynthesizer

    table = metadata._get_single_table_name()
    synthesizer = LLMSynthesizer(metadata, column_order=order, enable_gpu=False, **params)
    started = time.perf_counter()
    synthesizer.fit({table: train})
    return synthesizer, time.perf_counter() - started


def rare_condition(data, low=0.005, high=0.01):
    """A two-column categorical condition whose real prevalence is in ``[low, high)``."""
    categorical = [c for c in data.columns if data[c].nunique() <= 20]
    best = None
    for a, b in itertools.combinations(categorical, 2):
        shares = data.groupby([a, b]).size() / len(data)
        inside = shares[(shares >= low) & (shares < high)]
        if len(inside):
            value = inside.sort_values().index[-1]
            best = ({a: value[0], b: value[1]}, float(inside.max()))
            if {a, b} & {'income', 'sex'}:
                return best
    return best


def time_conditions(synthesizer, train, holdout, metadata, num_rows, known_rows):
    """Native vs rejection sampling for a rare condition; batched vs per-row remaining columns."""
    from sdv.sampling import Condition
    from sdv.single_table.base import BaseSingleTableSynthesizer

    table = metadata._get_single_table_name()
    real = pd.concat([train, holdout], ignore_index=True)
    values, prevalence = rare_condition(real)
    condition = [Condition(values, num_rows=num_rows)]
    result = {'condition': json.dumps(values), 'condition_prevalence': prevalence,
              'condition_rows': num_rows}

    synthesizer.reset_sampling()
    started = time.perf_counter()
    native = synthesizer.sample_from_conditions(condition)[table]
    result['native_seconds'] = time.perf_counter() - started
    meets = np.logical_and.reduce([native[c] == v for c, v in values.items()])
    result['native_rows'] = len(native)
    result['native_rows_meeting'] = int(meets.sum())
    matching = real[np.logical_and.reduce([real[c] == v for c, v in values.items()])]
    result.update({f'conditioned_{k}': v
                   for k, v in quality_scores(matching, native, metadata).items()})

    # SDV's rejection sampling on the same fitted model: _sample ignores conditions.
    original = synthesizer._sample

    def unconditional(self, num_rows, conditions=None):
        if conditions is not None:
            raise NotImplementedError
        return original(num_rows)

    synthesizer._sample = types.MethodType(unconditional, synthesizer)
    synthesizer.reset_sampling()
    started = time.perf_counter()
    try:
        rejected = BaseSingleTableSynthesizer.sample_from_conditions(synthesizer, condition)
        result['rejection_rows'] = len(rejected[table])
    except Exception as error:  # noqa: BLE001 (SDV gives up when too few rows match)
        result['rejection_error'] = str(error)[:300]
    result['rejection_seconds'] = time.perf_counter() - started
    del synthesizer._sample
    result['condition_speedup'] = result['rejection_seconds'] / result['native_seconds']

    columns = list(values)
    known = holdout[columns + [c for c in holdout.columns if c not in columns][:2]]
    known = known.drop_duplicates().head(known_rows).reset_index(drop=True)
    result['known_rows'] = len(known)
    started = time.perf_counter()
    batched = synthesizer.sample_remaining_columns(known)[table]
    result['remaining_batched_seconds'] = time.perf_counter() - started
    sample = known.head(100)
    started = time.perf_counter()
    for index in range(len(sample)):
        synthesizer.sample_remaining_columns(sample.iloc[[index]])
    per_row = (time.perf_counter() - started) / len(sample)
    result['remaining_per_row_seconds'] = per_row * len(known)  # extrapolated from 100 calls
    result['remaining_speedup'] = result['remaining_per_row_seconds'] / \
        result['remaining_batched_seconds']
    result['remaining_rows_kept'] = int((batched[known.columns].astype(str).to_numpy()
                                         == known.astype(str).to_numpy()).all(axis=1).sum())
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--datasets', default='adult,shoppers,default_credit')
    parser.add_argument('--orders', default='fixed,fd,random')
    parser.add_argument('--data-dir', default=str(DEFAULT_DATA_DIR))
    parser.add_argument('--max-rows', type=int, default=10_000)
    parser.add_argument('--llm-params', default='{}')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--sample-rows', type=int, default=None,
                        help='synthetic rows scored per order (default: as many as train)')
    parser.add_argument('--conditions', action='store_true')
    parser.add_argument('--condition-rows', type=int, default=5_000)
    parser.add_argument('--known-rows', type=int, default=1_000)
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore')
    params = json.loads(args.llm_params)
    params.setdefault('random_state', args.seed)
    results = []
    for dataset in args.datasets.split(','):
        data = load_dataset(dataset, args.data_dir, args.max_rows, args.seed)
        train, holdout, metadata = data.train, data.holdout, data.metadata
        exact = discover_dependencies(pd.concat([train, holdout]))
        real_efficacy = ml_efficacy(train, holdout, data)
        for position, order in enumerate(args.orders.split(',')):
            synthesizer, fit_seconds = fit(train, metadata, order, params)
            started = time.perf_counter()
            table = metadata._get_single_table_name()
            synthetic = synthesizer.sample(num_rows=args.sample_rows or len(train))[table]
            sample_seconds = time.perf_counter() - started
            result = {
                'dataset': dataset, 'order': order, 'rows': len(train),
                'fit_seconds': fit_seconds, 'sample_seconds': sample_seconds,
                'rows_per_second': len(synthetic) / sample_seconds,
                'exact_dependencies': [str(fd) for fd in exact],
                'fd_violation_rate': violation_rate(train, synthetic, exact),
                'order_used': synthesizer.get_column_order()['order'],
                'tstr': ml_efficacy(synthetic, holdout, data),
                'trtr': real_efficacy, 'llm_params': json.dumps(params),
            }
            result.update(quality_scores(train, synthetic, metadata))
            if args.conditions and position == 0 and not results:
                result.update(time_conditions(synthesizer, train, holdout, metadata,
                                              args.condition_rows, args.known_rows))
            result.update(environment())
            results.append(result)
            print(json.dumps({k: v for k, v in result.items()
                              if k not in ('order_used', 'exact_dependencies')}), flush=True)
            if args.output:
                with open(args.output, 'w') as handle:
                    json.dump(results, handle, indent=2)
    return pd.DataFrame(results)


if __name__ == '__main__':
    main()
