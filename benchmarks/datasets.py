"""Benchmark datasets: loading, metadata fix-ups, and the seeded 80/20 split."""

import os
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA_DIR = Path(os.environ.get('SDV_LLM_DATA_DIR',
                                       Path(__file__).resolve().parents[2] / 'shared' / 'data'))

# Per-dataset settings: ML-efficacy target and metadata fix-ups (sdtype by column).
DATASETS = {
    'adult': {'target': 'income', 'task': 'binary', 'sdtypes': {}},
    'default_credit': {
        'target': 'default payment next month', 'task': 'binary',
        'sdtypes': {c: 'categorical' for c in ['SEX', 'EDUCATION', 'MARRIAGE',
                                               'default payment next month']},
    },
    'shoppers': {'target': 'Revenue', 'task': 'binary', 'sdtypes': {}},
    'magic': {'target': 'class', 'task': 'binary', 'sdtypes': {}},
    'bank_marketing': {'target': 'y', 'task': 'binary', 'sdtypes': {}},
    'california_housing': {'target': 'MedHouseVal', 'task': 'regression',
                           'sdtypes': {'Latitude': 'numerical', 'Longitude': 'numerical'}},
    'titanic': {'target': 'survived', 'task': 'binary', 'sdtypes': {}},
    'iris': {'target': 'species', 'task': 'multiclass', 'sdtypes': {}},
}


def load_dataset(name, data_dir=DEFAULT_DATA_DIR, max_rows=None, seed=0):
    """Load a single-table dataset, fix its metadata and split it 80/20.

    Metadata is detected on the full table (so holdout values lie inside its ranges), then the
    sdtypes in ``DATASETS[name]['sdtypes']`` are applied.

    Args:
        name (str): folder name under ``data_dir``.
        data_dir (str or Path): a folder laid out like ``shared/data``.
        max_rows (int or None): subsample the table to this many rows first (seeded).
        seed (int): seed of the subsample and the split.

    Returns:
        tuple: ``(train, holdout, metadata)``.
    """
    from sdv.metadata import Metadata

    data = pd.read_csv(Path(data_dir) / name / f'{name}.csv')
    if max_rows and len(data) > max_rows:
        data = data.sample(max_rows, random_state=seed).reset_index(drop=True)
    metadata = Metadata.detect_from_dataframes({name: data})
    for column, sdtype in DATASETS.get(name, {}).get('sdtypes', {}).items():
        metadata.update_column(column, sdtype=sdtype, table_name=name)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = int(round(0.8 * len(data)))
    train = data.iloc[order[:cut]].reset_index(drop=True)
    holdout = data.iloc[order[cut:]].reset_index(drop=True)
    return train, holdout, metadata


def dataset_names(data_dir=DEFAULT_DATA_DIR):
    """Single-table datasets found under ``data_dir`` (folders with ``NAME/NAME.csv``)."""
    root = Path(data_dir)
    return sorted(p.name for p in root.iterdir()
                  if (p / f'{p.name}.csv').exists() and not (p / 'relationships.json').exists())


