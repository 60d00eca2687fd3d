"""Key integrity of a database: foreign keys found in their parent, unique primary keys."""

import math

import pandas as pd
from sdv.metadata import Metadata

from sdv_llm.evaluation.integrity import referential_integrity, unique_primary_keys


def _database():
    parents = pd.DataFrame({'id': [1, 2, 3], 'x': [0.1, 0.2, 0.3]})
    children = pd.DataFrame({'child_id': [10, 11, 12, 13], 'parent_id': [1, 1, 3, 9.0]})
    metadata = Metadata.load_from_dict({
        'tables': {
            'parents': {'primary_key': 'id', 'columns': {'id': {'sdtype': 'id'},
                                                         'x': {'sdtype': 'numerical'}}},
            'children': {'primary_key': 'child_id',
                         'columns': {'child_id': {'sdtype': 'id'},
                                     'parent_id': {'sdtype': 'id'}}},
        },
        'relationships': [{'parent_table_name': 'parents', 'parent_primary_key': 'id',
                           'child_table_name': 'children', 'child_foreign_key': 'parent_id'}],
    })
    return {'parents': parents, 'children': children}, metadata


def test_referential_integrity_counts_foreign_keys_found_in_the_parent():
    tables, metadata = _database()
    assert referential_integrity(tables, metadata) == 0.75   # parent 9 does not exist
    tables['children'].loc[3, 'parent_id'] = None            # missing keys do not count
    assert referential_integrity(tables, metadata) == 1.0
    tables['children']['parent_id'] = None
    assert math.isnan(referential_integrity(tables, metadata))


def test_unique_primary_keys():
    tables, metadata = _database()
    assert unique_primary_keys(tables, metadata)
    tables['parents'].loc[2, 'id'] = 1
    assert not unique_primary_keys(tables, metadata)
