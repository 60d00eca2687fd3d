"""Multi-table benchmark: LLMMultiTableSynthesizer beside HMASynthesizer, same data, same process.

Usage (from the repository root)::

    python -m benchmarks.multi_table --dataset berka --tables account,loan,order \
        --synthesizers LLMMultiTableSynthesizer,HMASynthesizer \
        --output benchmarks/results/multi_berka_subset.json
    python -m benchmarks.multi_table --dataset berka --synthesizers LLMMultiTableSynthesizer
    python -m benchmarks.multi_table --dataset chinook --synthesizers LLMMultiTableSynthesizer

Tables are read from ``shared/data/NAME/*.csv``; the metadata is detected from the dataframes,
then its relationships are replaced by those of ``relationships.json`` (primary keys set,
foreign keys made ``id``); a column that is a foreign key to a table left out of ``--tables``
is modelled as categorical. Each synthesizer fits on all rows and samples ``sample_scale(1.0)``;
the synthetic data are scored with SDMetrics' multi-table QualityReport (overall, Column Shapes,
Column Pair Trends, Cardinality, Intertable Trends) and DiagnosticReport, and checked for
referential integrity and unique primary keys. Times are wall-clock seconds.
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sdv_llm.benchmark.datasets import DEFAULT_DATA_DIR
from sdv_llm.benchmark.runner import foreign_key_matches

# LLM settings per dataset: fewer epochs than the single-table default keep a 2-core CPU run
# within minutes (early stopping still applies).
LLM_TABLE_PARAMETERS = {'epochs': 30}


def load_relational(name, tables=None, data_dir=DEFAULT_DATA_DIR):
    """Load a multi-table dataset and build its metadata.

    Args:
        name (str): folder under ``data_dir`` with ``*.csv`` and ``relationships.json``.
        tables (list[str] or None): keep only these tables (and relationships among them).
        data_dir (str or Path): a folder laid out like ``shared/data``.

    Returns:
        tuple: ``(data, metadata, spec)``: dict of DataFrames, ``sdv.metadata.Metadata``, and
        the ``relationships.json`` content.
    """
    from sdv.metadata import Metadata

    folder = Path(data_dir) / name
    spec = json.loads((folder / 'relationships.json').read_text())
    names = tables or sorted(p.stem for p in folder.glob('*.csv'))
    data = {table: pd.read_csv(folder / f'{table}.csv') for table in names}
    detected = Metadata.detect_from_dataframes(data).to_dict()
    relationships = [r for r in spec['relationships']
                     if r['parent_table_name'] in data and r['child_table_name'] in data]
    foreign = {(r['child_table_name'], r['child_foreign_key']) for r in relationships}
    dangling = {(r['child_table_name'], r['child_foreign_key']) for r in spec['relationships']
                if r['child_table_name'] in data and r['parent_table_name'] not in data}
    for table, columns_spec in detected['tables'].items():
        key = spec['primary_keys'].get(table)
        columns_spec['primary_key'] = key
        keys = key if isinstance(key, list) else [key]
        for column, column_spec in columns_spec['columns'].items():
            if column in keys or (table, column) in foreign:
                columns_spec['columns'][column] = {'sdtype': 'id'}
            elif (table, column) in dangling or column_spec['sdtype'] == 'id':
                columns_spec['columns'][column] = {'sdtype': 'categorical'}
    detected['relationships'] = relationships
    return data, Metadata.load_from_dict(detected), spec


def make_synthesizer(name, metadata, seed, table_parameters=None, table_epochs=None):
    """A multi-table synthesizer by class name (``table_epochs``: epochs by table)."""
    if name == 'HMASynthesizer':
        from sdv.multi_table import HMASynthesizer

        return HMASynthesizer(metadata, verbose=False)
    from sdv_llm.multi_table import LLMMultiTableSynthesizer

    synthesizer = LLMMultiTableSynthesizer(metadata, enable_gpu=torch.cuda.is_available(),
                                           random_state=seed)
    for table in synthesizer.metadata.tables:
        parameters = dict(table_parameters or {})
        if table in (table_epochs or {}):
            parameters['epochs'] = table_epochs[table]
        synthesizer.set_table_parameters(table, parameters)
    return synthesizer


def integrity(data, metadata):
    """Referential integrity and key uniqueness of a dataset.

    Returns:
        dict: ``referential_integrity`` (share of non-missing foreign keys found in their
        parent, over all relationships), ``orphans`` per relationship, and
        ``unique_primary_keys`` (bool).
    """
    matches = foreign_key_matches(data, metadata)
    total = sum(count for _, _, count in matches)
    found = sum(valid for _, valid, _ in matches)
    orphans = {f"{r['parent_table_name']}->{r['child_table_name']}.{r['child_foreign_key']}":
               count - valid for r, valid, count in matches}
    unique = all(data[t][m.primary_key].is_unique for t, m in metadata.tables.items()
                 if isinstance(m.primary_key, str))
    return {'referential_integrity': found / total if total else 1.0, 'orphans': orphans,
            'unique_primary_keys': bool(unique)}


def scores(real, synthetic, metadata):
    """SDMetrics multi-table quality and diagnostic scores."""
    from sdmetrics.reports.multi_table import DiagnosticReport, QualityReport

    spec = metadata.to_dict()
    quality = QualityReport()
    quality.generate(real, synthetic, spec, verbose=False)
    diagnostic = DiagnosticReport()
    diagnostic.generate(real, synthetic, spec, verbose=False)
    result = {'quality': float(quality.get_score()),
              'diagnostic': float(diagnostic.get_score())}
    for report, prefix in ((quality, ''), (diagnostic, 'diagnostic: ')):
        for _, row in report.get_properties().iterrows():
            result[prefix + row['Property']] = float(row['Score'])
    return result


def run(dataset, tables, synthesizers, seed=0, table_parameters=None, data_dir=DEFAULT_DATA_DIR,
        table_epochs=None):
    """Fit, sample and score each synthesizer; returns the result records."""
    data, metadata, _ = load_relational(dataset, tables, data_dir)
    records = []
    for name in synthesizers:
        np.random.seed(seed)
        torch.manual_seed(seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            synthesizer = make_synthesizer(name, metadata, seed, table_parameters, table_epochs)
            used = synthesizer.metadata
            started = time.perf_counter()
            synthesizer.fit({t: data[t] for t in used.tables})
            fit_seconds = time.perf_counter() - started
            started = time.perf_counter()
            synthetic = synthesizer.sample_scale(1.0)
            sample_seconds = time.perf_counter() - started
        real = {t: data[t] for t in used.tables}
        record = {
            'dataset': dataset, 'tables': list(used.tables), 'synthesizer': name,
            'fit_seconds': round(fit_seconds, 1), 'sample_seconds': round(sample_seconds, 1),
            'real_rows': {t: len(real[t]) for t in real},
            'synthetic_rows': {t: len(synthetic[t]) for t in synthetic},
            'sdtypes': {t: {c: s['sdtype'] for c, s in m.columns.items()}
                        for t, m in used.tables.items()},
            'warnings': sorted({str(w.message)[:300] for w in caught
                                if 'LLMMultiTableSynthesizer' in str(w.message)
                                or 'Self-references' in str(w.message)}),
        }
        if hasattr(synthesizer, 'get_conditioning_parents'):
            record['conditioning_parents'] = synthesizer.get_conditioning_parents()
        if hasattr(synthesizer, 'get_conditioning_parents'):
            record['table_parameters'] = {'default': table_parameters,
                                          'epochs_by_table': table_epochs or {}}
        record.update(integrity(synthetic, used))
        record.update(scores(real, synthetic, used))
        print(json.dumps(record, indent=1), flush=True)
        records.append(record)
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dataset', default='berka')
    parser.add_argument('--tables', default=None, help='comma-separated subset of tables')
    parser.add_argument('--synthesizers', default='LLMMultiTableSynthesizer,HMASynthesizer')
    parser.add_argument('--epochs', type=int, default=LLM_TABLE_PARAMETERS['epochs'])
    parser.add_argument('--llm-params', default='{}',
                        help='JSON of LLMSynthesizer parameters for every table')
    parser.add_argument('--table-epochs', default='',
                        help='epochs by table, e.g. account=15,order=8')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--data-dir', default=str(DEFAULT_DATA_DIR))
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(format='%(asctime)s %(name)s %(message)s')
    logging.getLogger('sdv_llm').setLevel(logging.INFO)
    tables = args.tables.split(',') if args.tables else None
    parameters = {**LLM_TABLE_PARAMETERS, 'epochs': args.epochs, **json.loads(args.llm_params)}
    table_epochs = {name: int(value) for name, value in
                    (item.split('=') for item in args.table_epochs.split(',') if item)}
    records = run(args.dataset, tables, args.synthesizers.split(','), args.seed, parameters,
                  args.data_dir, table_epochs)
    result = {'machine': {'platform': platform.platform(), 'cpus': torch.get_num_threads(),
                          'torch': torch.__version__, 'cuda': torch.cuda.is_available()},
              'command': ' '.join(['python -m benchmarks.multi_table'] + (argv or [])),
              'results': records}
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1))


if __name__ == '__main__':
    import sys

    main(sys.argv[1:])
