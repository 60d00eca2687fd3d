"""LLMMultiTableSynthesizer with differential privacy: a budget split over the tables."""

import numpy as np
import pytest

from sdv_llm.multi_table import LLMMultiTableSynthesizer
from tests.conftest import TINY
from tests.multi_table.conftest import assert_integrity, two_tables

DP = {'epsilon': 4.0, 'delta': 1e-4}


def declared(metadata):
    """The two-table metadata with every value set and range declared."""
    metadata.update_column('kind', sdtype='categorical', range_values=['big', 'small', 'none'],
                           table_name='shop')
    metadata.update_column('size', sdtype='numerical', range_min=0, range_max=100,
                           decimal_places=0, table_name='shop')
    metadata.update_column('amount', sdtype='numerical', range_min=0, range_max=100,
                           decimal_places=1, table_name='sale')
    metadata.update_column('paid', sdtype='categorical', range_values=['cash', 'card'],
                           table_name='sale')
    return metadata


@pytest.fixture(scope='module')
def private():
    data, metadata = two_tables()
    metadata = declared(metadata)
    synthesizer = LLMMultiTableSynthesizer(metadata, enable_gpu=False, random_state=0,
                                           max_children=8, differential_privacy=DP)
    for table in metadata.tables:
        synthesizer.set_table_parameters(table, {'epochs': 2, 'batch_size': 32,
                                                 'embedding_dim': TINY['embedding_dim'],
                                                 'num_layers': 1, 'num_heads': 2})
    synthesizer.fit(data)
    return data, metadata, synthesizer


def test_each_table_spends_its_share_and_the_total_is_their_sum(private):
    _, _, synthesizer = private
    info = synthesizer.get_privacy_info()['differential_privacy']
    tables = info['tables']
    for name in ('shop', 'sale'):
        assert tables[name]['target_epsilon'] == pytest.approx(DP['epsilon'] / 2)
        assert tables[name]['delta'] == pytest.approx(DP['delta'] / 2)
        assert tables[name]['epsilon'] <= DP['epsilon'] / 2 + 0.01
    assert info['epsilon'] == pytest.approx(tables['shop']['epsilon'] + tables['sale']['epsilon'])
    assert info['epsilon'] <= DP['epsilon'] + 0.02 and info['delta'] == pytest.approx(1e-4)


def test_one_sequence_per_parent_and_no_counts_from_the_rows(private):
    data, _, synthesizer = private
    children = synthesizer._table_synthesizers['sale']._model
    assert children.max_chunks == 1
    relationship = synthesizer._relationships[0]
    assert list(relationship.counts) == [0, 8] and relationship.null_fraction == 0.0
    info = synthesizer.get_privacy_info()['differential_privacy']['tables']['sale']
    assert info['steps'] == 2 * int(np.ceil(len(data['shop']) / 32))  # parents, not sales


def test_samples_linked_tables(private):
    _, metadata, synthesizer = private
    sampled = synthesizer.sample_scale(1.0)
    assert_integrity(sampled, metadata)
    assert len(sampled['shop']) == 80
    per_shop = sampled['sale']['shop_id'].value_counts()
    assert per_shop.max() <= 8 and sampled['sale']['shop_id'].notna().all()
    assert set(sampled['sale']['paid'].dropna()) <= {'cash', 'card'}


def test_saved_model_keeps_every_tables_record(private, tmp_path):
    _, _, synthesizer = private
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMMultiTableSynthesizer.from_pretrained(tmp_path / 'model')
    assert loaded.get_privacy_info() == synthesizer.get_privacy_info()
    assert list(loaded._relationships[0].counts) == [0, 8]
