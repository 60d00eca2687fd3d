"""The ``sdv-llm`` command: demo, fit, sample, fastgen, evaluate and benchmark."""

import argparse
import json
import os
import sys
import time
import warnings


def _load_metadata(path, data, table_name):
    from sdv.metadata import Metadata

    if path:
        try:
            with open(path, encoding='utf-8') as handle:
                json.load(handle)
        except FileNotFoundError:
            raise SystemExit(f'{path}: no such metadata file.') from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SystemExit(f'{path}: the metadata is not valid JSON ({error}).') from None
        from sdv.metadata.errors import InvalidMetadataError

        try:
            metadata = Metadata.load_from_json(path)
        except (InvalidMetadataError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise SystemExit(f'{path}: invalid SDV metadata ({error}).') from None
        if len(metadata.tables) != 1:
            raise SystemExit(
                f'{path}: expected the metadata of one table, found {len(metadata.tables)}.'
            )
        return metadata
    return Metadata.detect_from_dataframes({table_name: data})


def _synthesizer_parameters(args):
    """The LLMSynthesizer parameters given as options (``sdv_llm.parameters.PARAMETERS``)."""
    from sdv_llm.parameters import cli_parameters

    return cli_parameters(args)


def _check_output(path):
    """Raise SystemExit unless a model can be saved at ``path`` (checked before fitting)."""
    from pathlib import Path

    from sdv_llm.persistence import ModelFileError, check_output_directory

    path = Path(path)
    if path.suffix == '.pkl':
        if path.is_dir():
            raise SystemExit(f'Cannot save to {path}: it is a directory.')
        folder = path.parent if str(path.parent) else Path('.')
        if not folder.is_dir():
            raise SystemExit(f'Cannot save to {path}: the folder {folder} does not exist.')
        if not os.access(folder, os.W_OK):
            raise SystemExit(f'Cannot save to {path}: {folder} is not writable.')
        return
    try:
        check_output_directory(path)
    except ModelFileError as error:
        raise SystemExit(str(error)) from None


def _read_csv(path):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise SystemExit(f'{path}: no such data file.') from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SystemExit(f'{path}: not a readable CSV file ({error}).') from None


def command_fit(args):
    """Fit an LLMSynthesizer on a CSV file and save it (a model directory, or a .pkl pickle)."""
    from sdv_llm.single_table import LLMSynthesizer

    _check_output(args.output)
    data = _read_csv(args.data)
    table_name = args.table_name
    metadata = _load_metadata(args.metadata, data, table_name)
    table_name = metadata._get_single_table_name()
    synthesizer = LLMSynthesizer(metadata, **_synthesizer_parameters(args))
    started = time.perf_counter()
    synthesizer.fit({table_name: data})
    print(f'fitted {len(data):,} rows in {time.perf_counter() - started:.1f} s')
    if str(args.output).endswith('.pkl'):
        synthesizer.save(args.output)
    else:
        synthesizer.save_pretrained(args.output)
    print(f'saved {args.output}')


def command_sample(args):
    """Sample rows from a saved synthesizer (model directory or pickle) into a CSV file."""
    from sdv_llm.persistence import ModelFileError
    from sdv_llm.single_table import LLMSynthesizer
    from sdv_llm.state import UnsafeStateError

    try:
        synthesizer = LLMSynthesizer.load(args.model)
    except (ModelFileError, UnsafeStateError) as error:
        raise SystemExit(f'Cannot load {args.model}: {error}') from None
    if args.seed is not None:
        synthesizer._set_random_state(args.seed)
    started = time.perf_counter()
    table = next(iter(synthesizer.sample(num_rows=args.num_rows).values()))
    seconds = time.perf_counter() - started
    table.to_csv(args.output, index=False)
    print(f'sampled {len(table):,} rows in {seconds:.1f} s ({len(table) / seconds:,.0f} rows/s) '
          f'-> {args.output}')


def command_fastgen(args):
    """Fit a FastGenSynthesizer on a CSV file and write its standalone sampling script."""

    from sdv_llm.fastgen.synthesizer import FastGenSynthesizer

    data = _read_csv(args.data)
    metadata = _load_metadata(args.metadata, data, args.table_name)
    table_name = metadata._get_single_table_name()
    synthesizer = FastGenSynthesizer(metadata, dependencies=args.dependencies,
                                     backbone=args.backbone)
    started = time.perf_counter()
    synthesizer.fit({table_name: data})
    print(f'fitted {len(data):,} rows in {time.perf_counter() - started:.1f} s')
    synthesizer.export_script(args.output, command=args.command_line)
    print(f'wrote {args.output}; run: python {args.output} -n 1000 --seed 0 -o rows.csv')


def command_demo(args):
    """Fit on the bundled Adult table beside GaussianCopula and print both reports."""
    from sdv.single_table import GaussianCopulaSynthesizer

    from sdv_llm.data import load_adult
    from sdv_llm.evaluation import quality_scores
    from sdv_llm.single_table import LLMSynthesizer

    data, metadata = load_adult()
    if args.rows and args.rows < len(data):
        data = data.sample(args.rows, random_state=0).reset_index(drop=True)
    print(f'Adult: {len(data):,} rows x {data.shape[1]} columns (bundled, UCI, CC BY 4.0)')
    params = _synthesizer_parameters(args)
    params.setdefault('random_state', 0)
    params.setdefault('epochs', args.demo_epochs)
    rows = []
    for name, synthesizer in (
        ('LLMSynthesizer', LLMSynthesizer(metadata, **params)),
        ('GaussianCopulaSynthesizer', GaussianCopulaSynthesizer(metadata)),
    ):
        started = time.perf_counter()
        synthesizer.fit({'adult': data})
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = synthesizer.sample(num_rows=len(data))['adult']
        sample_seconds = time.perf_counter() - started
        scores = quality_scores(data, synthetic, metadata)
        rows.append((name, fit_seconds, len(data) / sample_seconds, scores))
        print(f'{name}: fit {fit_seconds:.1f} s, sampling {len(data) / sample_seconds:,.0f} rows/s')

    header = ('synthesizer', 'fit s', 'rows/s', 'quality', 'shapes', 'pair trends',
              'quality (all pairs)', 'diagnostic')
    print('\n| ' + ' | '.join(header) + ' |\n|' + '---|' * len(header))
    for name, fit_seconds, rate, s in rows:
        print(f"| {name} | {fit_seconds:.1f} | {rate:,.0f} | {s['quality']:.3f} | "
              f"{s['column_shapes']:.3f} | {s['column_pair_trends']:.3f} | "
              f"{s['quality_all_pairs']:.3f} | {s['diagnostic']:.3f} |")
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump([{'synthesizer': n, 'fit_seconds': f, 'rows_per_second': r, **s}
                       for n, f, r, s in rows], handle, indent=2)


def _print_report(report, privacy):
    """Print a quality table (metric, value) or a privacy report (see ``privacy_report``)."""
    import math

    if not privacy:
        width = max(len(m) for m in report['metric'])
        for metric, value in zip(report['metric'], report['value']):
            print(f'{metric:<{width}}  {value:.4f}')
        return

    def number(value):
        return '' if value is None or math.isnan(value) else f'{value:.3f}'

    rows = [('audit', 'value', 'interval', 'ideal', 'source')]
    for r in report.itertuples():
        interval = (f'[{number(r.ci_low)}, {number(r.ci_high)}]' if not math.isnan(r.ci_low)
                    else '')
        rows.append((r.audit, number(r.value), interval, number(r.ideal), r.source))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    details = [(r.audit, r.detail) for r in report.itertuples() if r.detail]
    if details:
        print('\ndetails:')
        for audit, detail in details:
            print(f'- {audit}: {detail[:300]}')


def command_evaluate(args):
    """Score a synthetic CSV against the real one: SDMetrics quality and diagnostic, or
    (``--privacy``) every privacy audit against a holdout (``sdv_llm.evaluation``)."""
    import pandas as pd

    from sdv_llm.evaluation import privacy_report, quality_scores
    from sdv_llm.evaluation.audit import AUDITS
    from sdv_llm.evaluation.columns import checked_columns

    if args.privacy and not args.holdout:
        raise SystemExit('--privacy needs --holdout: a CSV of real rows the synthesizer did not '
                         'see, the control of every audit.')
    audits = tuple(a.strip() for a in args.audits.split(',') if a.strip()) \
        if args.audits else None
    unknown = [a for a in audits or () if a not in AUDITS]
    if unknown:
        raise SystemExit(f'--audits: unknown {", ".join(unknown)}; known: {", ".join(AUDITS)}.')
    real, synthetic = _read_csv(args.real), _read_csv(args.synthetic)
    holdout = _read_csv(args.holdout) if args.holdout else None
    metadata = _load_metadata(args.metadata, real, args.table_name)
    table_name = metadata._get_single_table_name()
    started = time.perf_counter()
    try:
        if args.privacy:
            report = privacy_report(real, holdout, synthetic, metadata, table_name,
                                    audits=audits, n_attacks=args.n_attacks,
                                    per_column=args.per_column, seed=args.seed)
        else:
            checked_columns(metadata, table_name, real=real, synthetic=synthetic)
            scores = quality_scores(real, synthetic, metadata, table_name)
            report = pd.DataFrame({'metric': list(scores), 'value': list(scores.values())})
    except (ValueError, ImportError) as error:
        raise SystemExit(f'Cannot evaluate: {error}') from None
    what = 'privacy audits' if args.privacy else 'quality and diagnostic'
    print(f'{what} of {len(synthetic):,} synthetic rows against {len(real):,} real rows'
          + (f' and {len(holdout):,} holdout rows' if args.privacy else '')
          + f' ({time.perf_counter() - started:.1f} s)')
    _print_report(report, args.privacy)
    if args.output:
        report.to_csv(args.output, index=False)
        print(f'wrote {args.output}')


def command_benchmark(args):
    """Run the benchmark harness (``sdv_llm.benchmark.run``) and print where results went."""
    from sdv_llm.benchmark import run

    try:
        llm_params = json.loads(args.llm_params) if args.llm_params else None
    except json.JSONDecodeError as error:
        raise SystemExit(f'--llm-params is not JSON: {error}') from None
    started = time.perf_counter()
    results = run(datasets=args.datasets, synthesizers=args.synthesizers, profile=args.profile,
                  data_dir=args.data_dir, output=args.output, device=args.device,
                  seed=args.seed, max_rows=args.max_rows, llm_params=llm_params,
                  peers_python=args.peers_python, split=not args.no_split,
                  update_benchmarks=args.update_benchmarks,
                  benchmarks_file=args.benchmarks_file, plots=not args.no_plots,
                  peer_timeout=args.peer_timeout, verbose=not args.quiet,
                  resume=args.resume, tables=args.tables,
                  privacy_audits=args.privacy_audits)
    failed = results['error'].notna().sum() if 'error' in results else 0
    print(f'{len(results)} runs ({failed} failed) in {time.perf_counter() - started:.0f} s; '
          f'results in {args.output}/ (results.csv, results.json, results.md, config.json, '
          f'PNG plots)')


def add_benchmark_arguments(parser):
    """The options of ``sdv-llm benchmark`` (also ``python -m benchmarks``)."""
    from sdv_llm.benchmark.profiles import PROFILES

    parser.add_argument('--profile', default='quick', choices=list(PROFILES),
                        help='quick: adult and titanic, 3,000 rows, short training (minutes '
                             'on 2 CPU cores); full: every dataset, all rows, defaults; '
                             'small: breast_cancer, wine, diabetes (scikit-learn), iris, '
                             'titanic, 2,000 rows of magic and california_housing; '
                             'privacy: adult, bank_marketing, default_credit, all rows, '
                             'with the privacy audits; '
                             'smoke: iris, tiny models (the test suite\'s)')
    parser.add_argument('--datasets', help='comma-separated dataset names (default: the '
                                           "profile's; full: every dataset of --data-dir)")
    parser.add_argument('--synthesizers', help='comma-separated names, e.g. LLMSynthesizer,'
                                               'GaussianCopulaSynthesizer,CTGANSynthesizer,'
                                               'TVAESynthesizer,TabularARGN,HMASynthesizer')
    parser.add_argument('--data-dir', dest='data_dir',
                        help='folder laid out like shared/data (default: $SDV_LLM_DATA_DIR or '
                             '../shared/data; the bundled Adult when missing)')
    parser.add_argument('--output', default='benchmark_results', help='results folder')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-rows', dest='max_rows', type=int,
                        help="subsample single tables to this many rows (0: all; default: "
                             "the profile's)")
    parser.add_argument('--llm-params', dest='llm_params',
                        help='JSON dict of LLMSynthesizer parameters, e.g. \'{"epochs": 5}\'')
    parser.add_argument('--peers-python', dest='peers_python',
                        help='Python of the peers\' environment (default: '
                             '$SDV_LLM_PEERS_PYTHON); peers are recorded as failed without it')
    parser.add_argument('--peer-timeout', dest='peer_timeout', type=float,
                        help='seconds a peer may run')
    parser.add_argument('--no-split', dest='no_split', action='store_true',
                        help='fit on whole tables (no holdout: no ML efficacy or DCR)')
    parser.add_argument('--update-benchmarks', dest='update_benchmarks',
                        action=argparse.BooleanOptionalAction, default=None,
                        help='rewrite the generated section of BENCHMARKS.md (default: only '
                             'for the full profile)')
    parser.add_argument('--benchmarks-file', dest='benchmarks_file', default='BENCHMARKS.md')
    parser.add_argument('--no-plots', dest='no_plots', action='store_true')
    parser.add_argument('--tables', help="multi-table datasets: the tables to keep, "
                        "comma-separated, or 'all' (default: the dataset's configured tables)")
    parser.add_argument('--resume', action='store_true',
                        help='continue the run recorded in --output: keep its finished '
                             '(dataset, synthesizer) results, run the rest')
    parser.add_argument('--privacy-audits', dest='privacy_audits',
                        action=argparse.BooleanOptionalAction, default=None,
                        help='score single tables with the privacy audits too: exact copies, '
                             'DCRBaselineProtection, membership inference, anonymeter (about '
                             "half a minute per 5,000 rows; default: the profile's, on for "
                             'privacy)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.set_defaults(func=command_benchmark)
    return parser


def build_parser():
    """The argument parser of ``sdv-llm``."""
    parser = argparse.ArgumentParser(prog='sdv-llm', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)

    def model_options(sub):
        # One option per parameter of sdv_llm.parameters.PARAMETERS that has a flag, its doc
        # as help (--cpu clears enable_gpu).
        from sdv_llm.parameters import add_cli_options

        add_cli_options(sub.add_argument_group('LLMSynthesizer parameters'))

    demo = commands.add_parser('demo', help='fit on the bundled Adult table beside GaussianCopula')
    demo.add_argument('--rows', type=int, default=8000,
                      help='rows of Adult to use (default 8000, to finish in under 3 minutes '
                           'on 2 CPU cores; 0 for all)')
    demo.add_argument('--demo-epochs', dest='demo_epochs', type=int, default=12)
    demo.add_argument('--json', help='also write the scores to this JSON file')
    model_options(demo)
    demo.set_defaults(func=command_demo)

    fit = commands.add_parser('fit', help='fit on a CSV file and save the synthesizer')
    fit.add_argument('data', help='CSV file with a header row')
    fit.add_argument('--metadata', help='SDV metadata JSON (detected when omitted)')
    fit.add_argument('--table-name', dest='table_name', default='table')
    fit.add_argument('-o', '--output', required=True,
                     help='where to save the synthesizer: a model directory (JSON and '
                          'safetensors, loads without running code), or a .pkl pickle')
    model_options(fit)
    fit.set_defaults(func=command_fit)

    sample = commands.add_parser('sample', help='sample rows from a saved synthesizer')
    sample.add_argument('model', help='a model directory written by `sdv-llm fit` or '
                                      'save_pretrained, or a pickle written by save (trusted)')
    sample.add_argument('-n', '--num-rows', dest='num_rows', type=int, required=True)
    sample.add_argument('-o', '--output', required=True, help='CSV file to write')
    sample.add_argument('--seed', type=int)
    sample.set_defaults(func=command_sample)

    fastgen = commands.add_parser(
        'fastgen', help='fit per-field distributions and write a standalone sampling script')
    fastgen.add_argument('data', help='CSV file with a header row')
    fastgen.add_argument('--metadata', help='SDV metadata JSON (detected when omitted)')
    fastgen.add_argument('--table-name', dest='table_name', default='table')
    fastgen.add_argument('--dependencies', choices=('copula', 'none'), default='copula')
    fastgen.add_argument('--backbone', help='local Hugging Face causal LM that proposes the '
                                            'distributions (default: from the data)')
    fastgen.add_argument('-o', '--output', required=True, help='the .py script to write')
    fastgen.set_defaults(func=command_fastgen)

    evaluate = commands.add_parser(
        'evaluate', help='score a synthetic CSV against the real one (quality, or --privacy)')
    evaluate.add_argument('real', help='CSV of the real rows (the training rows with --privacy)')
    evaluate.add_argument('synthetic', help='CSV of the synthetic rows')
    evaluate.add_argument('--metadata', help='SDV metadata JSON (detected from the real rows '
                                             'when omitted)')
    evaluate.add_argument('--table-name', dest='table_name', default='table')
    evaluate.add_argument('--holdout', help='CSV of real rows the synthesizer did not see '
                                            '(needed by --privacy)')
    evaluate.add_argument('--privacy', action='store_true',
                          help='the privacy audits instead of quality: exact copies, DCR, '
                               'membership inference, anonymeter risks')
    evaluate.add_argument('--audits', help='with --privacy: comma-separated subset of copies,'
                                           'dcr,membership,singling_out,linkability,inference')
    evaluate.add_argument('--per-column', dest='per_column', action='store_true',
                          help='with --privacy: the inference risk of every column')
    evaluate.add_argument('--n-attacks', dest='n_attacks', type=int, default=500,
                          help="anonymeter's attacks of each kind (default 500)")
    evaluate.add_argument('--seed', type=int, default=0)
    evaluate.add_argument('-o', '--output', help='write the table to this CSV file')
    evaluate.set_defaults(func=command_evaluate)

    add_benchmark_arguments(commands.add_parser(
        'benchmark', help='LLMSynthesizer beside SDV baselines and peers, scored and reported'))
    return parser


def main(argv=None):
    """Entry point of the ``sdv-llm`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = ' '.join(['sdv-llm'] + argv)
    if not getattr(args, 'verbose', False):
        warnings.filterwarnings('ignore')
    args.func(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
