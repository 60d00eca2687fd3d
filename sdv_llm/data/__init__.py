"""Bundled real data: the UCI Adult table (CC BY 4.0, see README.md in this folder)."""

from importlib import resources

import pandas as pd

ADULT_CATEGORICAL = ('workclass', 'education', 'marital-status', 'occupation', 'relationship',
                     'race', 'sex', 'native-country', 'income')


def load_adult():
    """Load the bundled Adult table and its SDV metadata.

    The metadata is detected and then every column's sdtype is set explicitly (numerical for the
    six numbers, categorical for the rest), so detection heuristics (PII-looking names,
    integer-coded categories) cannot change what is modelled.

    Returns:
        tuple[pandas.DataFrame, sdv.metadata.Metadata]: 32,561 rows x 15 columns and metadata
        of the table ``'adult'``.
    """
    from sdv.metadata import Metadata

    with resources.files(__package__).joinpath('adult.csv.gz').open('rb') as handle:
        data = pd.read_csv(handle, compression='gzip')
    metadata = Metadata.detect_from_dataframes({'adult': data})
    for column in data.columns:
        sdtype = 'categorical' if column in ADULT_CATEGORICAL else 'numerical'
        if metadata.tables['adult'].columns[column]['sdtype'] != sdtype:
            metadata.update_column(column, sdtype=sdtype, table_name='adult')
    return data, metadata
