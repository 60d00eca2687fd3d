"""Small relational schemas built in the tests, and the referential-integrity check."""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from tests.conftest import TINY


def assert_integrity(data, metadata):
    """Every foreign key refers to a row of its parent; primary keys are unique."""
    for table, table_metadata in metadata.tables.items():
        assert table in data, table
        if table_metadata.primary_key:
            assert data[table][table_metadata.primary_key].is_unique, table
    for relation in metadata.relationships:
        keys = data[relation['child_table_name']][relation['child_foreign_key']].dropna()
        parent = data[relation['parent_table_name']][relation['parent_primary_key']]
        assert keys.isin(set(parent)).all(), relation


def children_per_parent(data, relation):
    """Children of each row of the relationship's parent table (zeros included)."""
    parent = data[relation['parent_table_name']][relation['parent_primary_key']]
    keys = data[relation['child_table_name']][relation['child_foreign_key']]
    return keys.value_counts().reindex(parent, fill_value=0)


def assert_cardinality(sampled, data, metadata):
    """Every sampled parent has as many children as some real parent's range allows."""
    for relation in metadata.relationships:
        real, got = children_per_parent(data, relation), children_per_parent(sampled, relation)
        assert real.min() <= got.min() and got.max() <= real.max(), relation


def two_tables(seed=0, num_parents=80):
    """``shop`` -> ``sale``: type 'big' shops have many sales, 'none' shops none; a few sales
    have no shop (nullable foreign key)."""
    rng = np.random.default_rng(seed)
    shop = pd.DataFrame({
        'shop_id': np.arange(num_parents),
        'kind': rng.choice(['big', 'small', 'none'], num_parents, p=[0.3, 0.4, 0.3]),
        'size': rng.integers(10, 99, num_parents),
    })
    lam = shop['kind'].map({'big': 6.0, 'small': 1.5, 'none': 0.0}).to_numpy()
    counts = rng.poisson(lam)
    owner = np.repeat(shop['shop_id'].to_numpy(), counts)
    sale = pd.DataFrame({
        'sale_id': np.arange(len(owner)),
        'shop_id': owner.astype(float),
        'amount': np.round(rng.normal(50, 10, len(owner)), 1),
        'paid': rng.choice(['cash', 'card'], len(owner)),
    })
    sale.loc[rng.choice(len(sale), 6, replace=False), 'shop_id'] = np.nan
    metadata = Metadata.load_from_dict({
        'tables': {
            'shop': {'primary_key': 'shop_id', 'columns': {
                'shop_id': {'sdtype': 'id'}, 'kind': {'sdtype': 'categorical'},
                'size': {'sdtype': 'numerical'}}},
            'sale': {'primary_key': 'sale_id', 'columns': {
                'sale_id': {'sdtype': 'id'}, 'shop_id': {'sdtype': 'id'},
                'amount': {'sdtype': 'numerical'}, 'paid': {'sdtype': 'categorical'}}},
        },
        'relationships': [{'parent_table_name': 'shop', 'parent_primary_key': 'shop_id',
                           'child_table_name': 'sale', 'child_foreign_key': 'shop_id'}],
    })
    return {'shop': shop, 'sale': sale}, metadata


def three_levels(seed=0):
    """``region`` -> ``account`` -> ``payment``, and ``client`` -> ``account`` (two parents)."""
    rng = np.random.default_rng(seed)
    region = pd.DataFrame({'region_id': np.arange(6), 'zone': list('nnssew')})
    client = pd.DataFrame({'client_id': np.arange(70),
                           'age': rng.integers(20, 80, 70)})
    num_accounts = 90
    account = pd.DataFrame({
        'account_id': np.arange(100, 100 + num_accounts),
        'region_id': rng.integers(0, 6, num_accounts),
        'client_id': rng.integers(0, 70, num_accounts),
        'plan': rng.choice(['basic', 'gold'], num_accounts),
    })
    counts = rng.poisson(np.where(account['plan'] == 'gold', 3.0, 0.7))
    payment = pd.DataFrame({
        'payment_id': np.arange(counts.sum()),
        'account_id': np.repeat(account['account_id'].to_numpy(), counts),
        'value': rng.integers(1, 500, counts.sum()),
    })
    column = {'sdtype': 'id'}
    metadata = Metadata.load_from_dict({
        'tables': {
            'region': {'primary_key': 'region_id', 'columns': {
                'region_id': column, 'zone': {'sdtype': 'categorical'}}},
            'client': {'primary_key': 'client_id', 'columns': {
                'client_id': column, 'age': {'sdtype': 'numerical'}}},
            'account': {'primary_key': 'account_id', 'columns': {
                'account_id': column, 'region_id': column, 'client_id': column,
                'plan': {'sdtype': 'categorical'}}},
            'payment': {'primary_key': 'payment_id', 'columns': {
                'payment_id': column, 'account_id': column, 'value': {'sdtype': 'numerical'}}},
        },
        'relationships': [
            {'parent_table_name': 'region', 'parent_primary_key': 'region_id',
             'child_table_name': 'account', 'child_foreign_key': 'region_id'},
            {'parent_table_name': 'client', 'parent_primary_key': 'client_id',
             'child_table_name': 'account', 'child_foreign_key': 'client_id'},
            {'parent_table_name': 'account', 'parent_primary_key': 'account_id',
             'child_table_name': 'payment', 'child_foreign_key': 'account_id'},
        ],
    })
    return {'region': region, 'client': client, 'account': account, 'payment': payment}, \
        metadata


def one_to_one(seed=0):
    """``district`` -> ``client`` and ``district`` -> ``account`` -> ``disp``, and
    ``client`` -> ``disp`` where every client has exactly one disp (berka's shape)."""
    rng = np.random.default_rng(seed)
    district = pd.DataFrame({'district_id': np.arange(8), 'size': rng.choice(['s', 'l'], 8)})
    per_district = np.where(district['size'] == 'l', 12, 4) + rng.integers(0, 3, 8)
    client = pd.DataFrame({'client_id': np.arange(per_district.sum()),
                           'district_id': np.repeat(district['district_id'], per_district),
                           'age': rng.integers(20, 80, per_district.sum())})
    disps = np.ones(len(client) // 2 + 5, dtype=int)
    disps[: len(client) - len(disps)] = 2  # 1 or 2 disps per account, one per client
    account = pd.DataFrame({'account_id': np.arange(len(disps)) + 1000,
                            'district_id': rng.integers(0, 8, len(disps)),
                            'kind': np.where(disps == 2, 'joint', 'single')})
    disp = pd.DataFrame({'disp_id': np.arange(len(client)),
                         'account_id': np.repeat(account['account_id'], disps),
                         'client_id': rng.permutation(client['client_id'].to_numpy()),
                         'type': 'owner'})
    column = {'sdtype': 'id'}
    tables = {
        'district': {'district_id': column, 'size': {'sdtype': 'categorical'}},
        'client': {'client_id': column, 'district_id': column, 'age': {'sdtype': 'numerical'}},
        'account': {'account_id': column, 'district_id': column,
                    'kind': {'sdtype': 'categorical'}},
        'disp': {'disp_id': column, 'account_id': column, 'client_id': column,
                 'type': {'sdtype': 'categorical'}},
    }
    relations = [('district', 'client', 'district_id'), ('district', 'account', 'district_id'),
                 ('account', 'disp', 'account_id'), ('client', 'disp', 'client_id')]
    metadata = Metadata.load_from_dict({
        'tables': {name: {'primary_key': f'{name}_id', 'columns': columns}
                   for name, columns in tables.items()},
        'relationships': [{'parent_table_name': parent, 'parent_primary_key': key,
                           'child_table_name': child, 'child_foreign_key': key}
                          for parent, child, key in relations],
    })
    data = {'district': district, 'client': client.reset_index(drop=True),
            'account': account, 'disp': disp.reset_index(drop=True)}
    return data, metadata


def fitted(data, metadata, epochs=2, batch_size=64, validation_fraction=0.1, **kwargs):
    from sdv_llm.multi_table import LLMMultiTableSynthesizer

    synthesizer = LLMMultiTableSynthesizer(metadata, enable_gpu=False, random_state=0, **kwargs)
    for table in synthesizer.metadata.tables:
        synthesizer.set_table_parameters(table, {
            **TINY, 'epochs': epochs, 'batch_size': batch_size,
            'validation_fraction': validation_fraction})
    synthesizer.fit(data)
    return synthesizer


@pytest.fixture(scope='module')
def shops():
    data, metadata = two_tables()
    return data, metadata, fitted(data, metadata, epochs=25, batch_size=16, validation_fraction=0.0,
                                  max_children=4)


@pytest.fixture(scope='module')
def bank():
    data, metadata = three_levels()
    return data, metadata, fitted(data, metadata)
