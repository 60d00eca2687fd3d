"""Benchmark datasets: a folder of CSVs, per-dataset settings, and the seeded 80/20 split.

A data folder is laid out like the project's ``shared/data``: one folder per dataset; a
single-table dataset ``NAME`` is ``NAME/NAME.csv``; a multi-table dataset is a folder of
``TABLE.csv`` files with a ``relationships.json`` (``primary_keys`` and SDV-style
``relationships``). A flat ``NAME.csv`` directly in the folder is accepted too.
"""

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

LOGGER = logging.getLogger(__name__)

#: Where datasets are looked for when no folder is given: ``$SDV_LLM_DATA_DIR``, else the
#: ``shared/data`` folder beside the repository checkout.
DEFAULT_DATA_DIR = Path(os.environ.get('SDV_LLM_DATA_DIR',
                                       Path(__file__).resolve().parents[3] / 'shared' / 'data'))

#: Name of the dataset served from the package when the data folder is missing.
BUNDLED = 'adult'


@dataclass(frozen=True)
class DatasetConfig:
    """What the benchmark needs to know about one dataset beyond its CSV files.

    Attributes:
        target (str or None): column predicted in ML efficacy; ``None`` skips ML efficacy.
        task (str or None): ``'binary'``, ``'multiclass'`` or ``'regression'``.
        sdtypes (dict[str, str]): metadata fix-ups, sdtype by column (integer-coded categories,
            PII-looking names).
        tables (tuple[str] or None): multi-table only: the tables to keep (with the
            relationships among them); ``None`` keeps all.
        sklearn (str or None): the ``sklearn.datasets`` loader of a real table that ships inside
            scikit-learn (used when the data folder has no CSV of that name).
    """

    target: str | None = None
    task: str | None = None
    sdtypes: dict = field(default_factory=dict)
    tables: tuple | None = None
    sklearn: str | None = None


_PAY = ['PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6']

#: Per-dataset settings of the datasets in ``shared/data``; unknown datasets get no ML target
#: and the detected metadata.
DATASETS = {
    'adult': DatasetConfig('income', 'binary'),
    'default_credit': DatasetConfig(
        'default payment next month', 'binary',
        {c: 'categorical' for c in ['SEX', 'EDUCATION', 'MARRIAGE',
                                    'default payment next month', *_PAY]}),
    'shoppers': DatasetConfig('Revenue', 'binary'),
    'magic': DatasetConfig('class', 'binary'),
    'bank_marketing': DatasetConfig('y', 'binary'),
    'california_housing': DatasetConfig(
        'MedHouseVal', 'regression', {'Latitude': 'numerical', 'Longitude': 'numerical'}),
    'titanic': DatasetConfig('survived', 'binary'),
    'iris': DatasetConfig('species', 'multiclass'),
    # Small real tables inside scikit-learn (no download): the `small` profile's.
    'breast_cancer': DatasetConfig('diagnosis', 'binary', sklearn='load_breast_cancer'),
    'wine': DatasetConfig('cultivar', 'multiclass', sklearn='load_wine'),
    'diabetes': DatasetConfig('progression', 'regression', {'sex': 'categorical'},
                              sklearn='load_diabetes'),
    # HMA's community edition accepts at most 5 tables and depth 2: account -> loan, order.
    'berka': DatasetConfig(tables=('account', 'loan', 'order')),
}


@dataclass
class Dataset:
    """A loaded benchmark dataset.

    Attributes:
        name (str): dataset name.
        metadata (sdv.metadata.Metadata): detected on the full data, then fixed up.
        train (pandas.DataFrame or dict[str, pandas.DataFrame]): the rows synthesizers fit on
            (single table: 80 % of the rows; multi-table: every table, whole).
        holdout (pandas.DataFrame or None): the other 20 % (single table only).
        config (DatasetConfig): the dataset's settings.
        source (str): where the data came from (a path, or ``'bundled'``).
    """

    name: str
    metadata: object
    train: object
    holdout: object
    config: DatasetConfig
    source: str

    @property
    def multi_table(self):
        """bool: whether the dataset has several tables."""
        return isinstance(self.train, dict)

    @property
    def table_name(self):
        """str: the table's name (single table only)."""
        return self.name


def _split(data, seed, fraction=0.8):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = round(fraction * len(data))
    return (data.iloc[order[:cut]].reset_index(drop=True),
            data.iloc[order[cut:]].reset_index(drop=True))


def _fix_metadata(metadata, table_name, sdtypes, columns):
    for column, sdtype in sdtypes.items():
        if column in columns:
            metadata.update_column(column, sdtype=sdtype, table_name=table_name)


def load_dataset(name, data_dir=None, max_rows=None, seed=0, split=True, tables=None):
    """Load a dataset by name, fix its metadata and split it.

    Single table: the whole table (after the optional seeded subsample) is used to detect the
    metadata, so holdout values lie inside the detected ranges; the fix-ups of
    ``DATASETS[name].sdtypes`` are applied; then a seeded 80/20 split. Multi-table: see
    :func:`load_multi_table`.

    Args:
        name (str): folder name under ``data_dir``.
        data_dir (str, Path or None): a folder laid out like ``shared/data``;
            ``DEFAULT_DATA_DIR`` when ``None``.
        max_rows (int or None): subsample a single table to this many rows first (seeded).
        seed (int): seed of the subsample and the split.
        split (bool): ``False`` fits on every row and leaves no holdout.
        tables (list[str], str or None): multi-table only, the tables to keep (see
            :func:`load_multi_table`).

    Returns:
        Dataset

    Raises:
        FileNotFoundError: when ``data_dir/name`` holds neither ``name.csv`` nor
            ``relationships.json``.
    """
    from sdv.metadata import Metadata

    folder = Path(data_dir or DEFAULT_DATA_DIR) / name
    config = DATASETS.get(name, DatasetConfig())
    if (folder / 'relationships.json').exists():
        return load_multi_table(name, data_dir, seed=seed, tables=tables)
    path = folder / f'{name}.csv'
    if not path.exists() and (folder.parent / f'{name}.csv').exists():
        path = folder.parent / f'{name}.csv'   # a flat folder of CSVs, like tests/data
    if not path.exists() and config.sklearn:
        data, path = load_sklearn_table(config), f'sklearn.datasets.{config.sklearn}'
    elif not path.exists():
        raise FileNotFoundError(f'No dataset {name!r}: {path} does not exist.')
    else:
        data = pd.read_csv(path)
    if max_rows and len(data) > max_rows:
        data = data.sample(max_rows, random_state=seed).reset_index(drop=True)
    metadata = Metadata.detect_from_dataframes({name: data})
    _fix_metadata(metadata, name, config.sdtypes, data.columns)
    train, holdout = _split(data, seed) if split else (data, None)
    return Dataset(name, metadata, train, holdout, config, str(path))


def load_sklearn_table(config):
    """A real table shipped inside scikit-learn, with its target under ``config.target``.

    Classification targets are written as class names (``'malignant'``, ``'class_0'``);
    diabetes keeps its original units (``scaled=False``).

    Returns:
        pandas.DataFrame
    """
    from sklearn import datasets

    loader = getattr(datasets, config.sklearn)
    extra = {'scaled': False} if config.sklearn == 'load_diabetes' else {}
    bunch = loader(as_frame=True, **extra)
    data = bunch.frame.rename(columns={'target': config.target})
    if config.task != 'regression':
        names = np.asarray(bunch.target_names)
        data[config.target] = names[data[config.target].to_numpy()]
    return data


def load_bundled_adult(max_rows=None, seed=0, split=True):
    """The Adult table shipped in the package (``sdv_llm.data.load_adult``), split like the rest.

    Args:
        max_rows (int or None): subsample to this many rows first (seeded).
        seed (int): seed of the subsample and the split.
        split (bool): ``False`` fits on every row and leaves no holdout.

    Returns:
        Dataset
    """
    from sdv_llm.data import load_adult

    data, metadata = load_adult()
    if max_rows and len(data) > max_rows:
        data = data.sample(max_rows, random_state=seed).reset_index(drop=True)
    train, holdout = _split(data, seed) if split else (data, None)
    return Dataset('adult', metadata, train, holdout, DATASETS['adult'], 'bundled')


def load_multi_table(name, data_dir=None, seed=0, tables=None):
    """Load a multi-table dataset as a dict of tables and SDV metadata with its relationships.

    Metadata is detected per table without keys; primary keys are set from
    ``relationships.json``'s ``primary_keys`` (composite keys are left unset: SDV 2.0 has
    none) and its relationships are added (foreign keys made ``id``; self-references kept,
    so the metadata may not pass ``validate``). A column that refers to
    a table left out (a foreign key of a dropped parent), and any other column detected as an
    ``id``, is modelled as categorical.

    Args:
        name (str): folder name under ``data_dir``.
        data_dir (str, Path or None): a folder laid out like ``shared/data``.
        seed (int): unused; kept for a uniform signature.
        tables (list[str], str or None): the tables to keep, with the relationships among
            them; ``'all'`` keeps every table; ``None`` uses ``DATASETS[name].tables`` (all
            when unset).

    Returns:
        Dataset: ``train`` is ``dict[str, pandas.DataFrame]``, ``holdout`` is ``None``;
        ``name`` is ``NAME`` with every table, ``NAME[t1,t2]`` with a subset.

    Raises:
        ValueError: a table that is not in ``relationships.json`` (named).
    """
    from sdv.metadata import Metadata

    folder = Path(data_dir or DEFAULT_DATA_DIR) / name
    config = DATASETS.get(name, DatasetConfig())
    spec = json.loads((folder / 'relationships.json').read_text())
    every = tuple(spec['primary_keys'])
    if isinstance(tables, str):
        tables = every if tables == 'all' else tuple(t.strip() for t in tables.split(','))
    names = tuple(tables or config.tables or every)
    unknown = [t for t in names if t not in every]
    if unknown:
        raise ValueError(f'{name} has no table {", ".join(map(repr, unknown))}; its tables: '
                         f'{", ".join(every)}.')
    data = {table: pd.read_csv(folder / f'{table}.csv') for table in names}
    metadata = Metadata.detect_from_dataframes(data, infer_keys=None)
    kept = [r for r in spec['relationships']
            if r['parent_table_name'] in data and r['child_table_name'] in data]
    primary = {t: k for t, k in spec['primary_keys'].items() if t in data and isinstance(k, str)}
    keys = set(primary.items()) | {(r['child_table_name'], r['child_foreign_key']) for r in kept}
    for table, table_metadata in metadata.tables.items():
        for column, column_metadata in table_metadata.columns.items():
            if (table, column) not in keys and column_metadata['sdtype'] == 'id':
                metadata.update_column(column, sdtype='categorical', table_name=table)
    for table, column in sorted(keys):
        metadata.update_column(column, sdtype='id', table_name=table)
    for table, key in primary.items():
        metadata.set_primary_key(key, table_name=table)
    for table, frame in data.items():
        _fix_metadata(metadata, table, config.sdtypes, frame.columns)
    # Relationships go in through the dict: ``add_relationship`` refuses a self-reference
    # (chinook's employees.ReportsTo); the synthesizers say what they do with one.
    spec_dict = metadata.to_dict()
    spec_dict['relationships'] = kept
    metadata = Metadata.load_from_dict(spec_dict)
    label = name if len(names) == len(every) else f'{name}[{",".join(names)}]'
    return Dataset(label, metadata, data, None, config, str(folder))


def dataset_names(data_dir=None, multi_table=False):
    """Datasets found under ``data_dir``.

    Args:
        data_dir (str, Path or None): a folder laid out like ``shared/data``.
        multi_table (bool): list multi-table datasets (folders with ``relationships.json``)
            instead of single-table ones (folders with ``NAME/NAME.csv``).

    Returns:
        list[str]: sorted names; empty when the folder does not exist.
    """
    root = Path(data_dir or DEFAULT_DATA_DIR)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        is_multi = (path / 'relationships.json').exists()
        single = not is_multi and (path / f'{path.name}.csv').exists()
        if (multi_table and is_multi) or (not multi_table and single):
            found.append(path.name)
        elif not multi_table and path.suffix == '.csv' and path.is_file():
            found.append(path.stem)   # a flat folder of CSVs, like tests/data
    return sorted(found)
