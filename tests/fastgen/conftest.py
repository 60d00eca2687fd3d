"""A table with every field kind FASTGEN handles, and a runner for exported scripts."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

#: Run a script with scipy, SDV, sdv_llm, torch and scikit-learn made unimportable.
_ISOLATED = ("import sys, runpy\n"
             "for name in ('scipy', 'sdv', 'sdv_llm', 'torch', 'sklearn', 'rdt', 'sdmetrics'):\n"
             "    sys.modules[name] = None\n"
             "sys.argv = sys.argv[1:]\n"
             "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def run_script(path, *args):
    """Run an exported script in a subprocess where only numpy and pandas can be imported."""
    return subprocess.run([sys.executable, '-c', _ISOLATED, str(path), *map(str, args)],
                          check=True, capture_output=True, text=True, timeout=120)


def every_kind_table(num_rows=600, seed=0):
    """Keys, continuous and discrete numbers (with missing values), categories, booleans,
    ordinals, datetimes, an email (PII) column and unique free-text names."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 0.5, num_rows), 2)
    income[rng.random(num_rows) < 0.1] = np.nan
    return pd.DataFrame({
        'key': np.arange(100, 100 + num_rows),
        'income': income,
        'children': rng.integers(0, 4, num_rows),
        'city': rng.choice(['Lyon', 'Oslo', 'Lima', 'Pune'], num_rows, p=[.4, .3, .2, .1]),
        'member': rng.choice([True, False], num_rows),
        'size': rng.choice(['S', 'M', 'L'], num_rows),
        'joined': (pd.Timestamp('2021-01-01') + pd.to_timedelta(
            rng.integers(0, 10**6, num_rows), unit='min')).strftime('%Y-%m-%d %H:%M'),
        'email': [f'person{i}@mail.example' for i in range(num_rows)],
        'motto': [f'{rng.choice(["carpe", "veni", "ad"])} {rng.choice(["diem", "vidi"])} '
                  f'{i}' for i in range(num_rows - 40)] + ['same old'] * 40,
    })


def every_kind_metadata(data):
    metadata = Metadata.detect_from_dataframes({'people': data})
    metadata.update_column('size', table_name='people', sdtype='ordinal',
                           range_values=['S', 'M', 'L'])
    metadata.update_column('motto', table_name='people', sdtype='unknown', pii=False)
    metadata.update_column('joined', table_name='people', sdtype='datetime',
                           datetime_format='%Y-%m-%d %H:%M')
    metadata.update_column('city', table_name='people', sdtype='categorical')
    metadata.update_column('member', table_name='people', sdtype='boolean')
    metadata.update_column('children', table_name='people', sdtype='numerical')
    return metadata


@pytest.fixture(scope='module')
def people():
    data = every_kind_table()
    return data, every_kind_metadata(data)
