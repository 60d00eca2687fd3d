"""LLMMultiTableSynthesizer through SDV's multi-table API."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.utils import load_synthesizer

from sdv_llm.multi_table import LLMMultiTableSynthesizer
from tests.multi_table.conftest import (
    assert_cardinality,
    assert_integrity,
    fitted,
    two_tables,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdv_modules_entry_point_names_the_synthesizer():
    text = (ROOT / 'pyproject.toml').read_text()
    section = text.split('[project.entry-points.sdv_modules]')[1].split('\n[')[0]
    assert ('"sdv.multi_table:LLMMultiTableSynthesizer" = '
            '"sdv_llm.multi_table:LLMMultiTableSynthesizer"') in section


def test_two_tables_keep_keys_sizes_and_the_null_rate(shops):
    data, metadata, synthesizer = shops
    sampled = synthesizer.sample_scale(1.0)
    assert_integrity(sampled, metadata)
    assert len(sampled['shop']) == len(data['shop'])
    assert abs(len(sampled['sale']) - len(data['sale'])) <= 1  # detached rows are rounded
    assert_cardinality(sampled, data, metadata)
    assert list(sampled['sale'].columns) == list(data['sale'].columns)
    assert sampled['sale']['shop_id'].isna().mean() == pytest.approx(
        data['sale']['shop_id'].isna().mean(), abs=0.05)
    assert synthesizer.get_conditioning_parents() == {'sale': 'shop.shop_id -> sale.shop_id'}


def test_parents_can_have_zero_children_and_children_follow_the_parent_row(shops):
    _, metadata, synthesizer = shops
    sampled = synthesizer.sample_scale(3.0)
    assert_integrity(sampled, metadata)
    counts = sampled['sale']['shop_id'].value_counts()
    per_shop = sampled['shop'].set_index('shop_id').assign(
        children=counts).fillna({'children': 0})
    assert (per_shop['children'] == 0).any()
    mean = per_shop.groupby('kind')['children'].mean()
    assert mean['big'] > mean['none']  # the number of children is learned from the parent


def test_chunked_parents_get_more_children_than_the_cap(shops):
    data, _, synthesizer = shops
    model = synthesizer._table_synthesizers['sale']._model
    assert model.max_children == 4 and model.max_chunks > 1
    assert data['sale']['shop_id'].value_counts().max() > 4
    sampled = synthesizer.sample_scale(2.0)
    assert sampled['sale']['shop_id'].value_counts().max() > 4


def test_sample_with_a_main_table_scales_the_whole_dataset(shops):
    data, metadata, synthesizer = shops
    sampled = synthesizer.sample(num_rows=40, main_table_name='shop')
    assert_integrity(sampled, metadata)
    assert len(sampled['shop']) == 40
    assert 0 < len(sampled['sale']) < len(data['sale'])


def test_reset_sampling_repeats_the_sample(shops):
    _, _, synthesizer = shops
    synthesizer.reset_sampling()
    first = synthesizer.sample_scale(0.5)
    synthesizer.reset_sampling()
    second = synthesizer.sample_scale(0.5)
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table])


def test_save_and_load_sample_the_same_data(shops, tmp_path):
    _, metadata, synthesizer = shops
    path = tmp_path / 'shops.pkl'
    synthesizer.save(path)
    loaded = load_synthesizer(str(path))
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    expected, got = synthesizer.sample_scale(0.5), loaded.sample_scale(0.5)
    assert_integrity(got, metadata)
    for table in expected:
        pd.testing.assert_frame_equal(expected[table], got[table])
    assert not loaded.get_loss_values('sale').empty


def test_three_levels_and_two_parents_keep_every_key_valid(bank):
    data, metadata, synthesizer = bank
    assert synthesizer.get_conditioning_parents()['account'] == \
        'region.region_id -> account.region_id'  # 15 accounts per region, 1.3 per client
    sampled = synthesizer.sample_scale(1.0)
    assert_integrity(sampled, metadata)
    assert_cardinality(sampled, data, metadata)
    for table in data:  # the real size, every table
        assert len(sampled[table]) == len(data[table]), table
        assert list(sampled[table].columns) == list(data[table].columns)  # no count columns


def test_a_one_to_one_second_parent_gets_exactly_one_child_per_row():
    # berka: every client has one disp; disps are generated per account (1 or 2 each).
    from tests.multi_table.conftest import one_to_one

    data, metadata = one_to_one()
    synthesizer = fitted(data, metadata, epochs=1)
    assert synthesizer.get_conditioning_parents()['disp'] == \
        'account.account_id -> disp.account_id'
    for scale in (1.0, 2.0):
        sampled = synthesizer.sample_scale(scale)
        assert_integrity(sampled, metadata)
        assert_cardinality(sampled, data, metadata)
        assert len(sampled['disp']) == len(sampled['client']) == round(scale * len(data['client']))
        assert sampled['disp']['client_id'].is_unique


def test_grandchildren_can_see_their_grandparent_row(monkeypatch):
    from sdv_llm.relational.children import ChildrenLM
    from tests.multi_table.conftest import three_levels

    data, metadata = three_levels()
    synthesizer = fitted(data, metadata, epochs=1, grandparent_context=True)
    payment = synthesizer._table_synthesizers['payment']._model
    account = synthesizer._table_synthesizers['account']._model
    assert 'region.zone' in payment.context_columns  # region -> account -> payment
    assert not any(c.startswith('region.') for c in account.context_columns)  # no grandparent
    contexts = []
    original = ChildrenLM.sample

    def capture(self, parent, counts, batch_size=None):
        contexts.append(parent)
        return original(self, parent, counts, batch_size)

    monkeypatch.setattr(ChildrenLM, 'sample', capture)
    sampled = synthesizer.sample_scale(1.0)
    assert_integrity(sampled, metadata)
    # The payments' context holds the zone of each sampled account's sampled region.
    zone = sampled['account']['region_id'].map(sampled['region'].set_index('region_id')['zone'])
    assert list(contexts[-1]['region.zone']) == list(zone)
    with pytest.raises(SynthesizerInputError, match="'grandparent_context'"):
        LLMMultiTableSynthesizer(metadata, grandparent_context='yes')


def test_the_user_chooses_the_conditioning_parent():
    from tests.multi_table.conftest import three_levels

    data, metadata = three_levels()
    synthesizer = fitted(data, metadata, epochs=1,
                         conditioning_parents={'account': 'client'})
    assert synthesizer.get_conditioning_parents()['account'] == \
        'client.client_id -> account.client_id'
    assert_integrity(synthesizer.sample_scale(1.0), metadata)


def test_invalid_parameters_are_named():
    _, metadata = two_tables()
    with pytest.raises(SynthesizerInputError, match="'max_children'"):
        LLMMultiTableSynthesizer(metadata, max_children=0)
    synthesizer = LLMMultiTableSynthesizer(metadata)
    with pytest.raises(SynthesizerInputError, match="'epochs'"):
        synthesizer.set_table_parameters('sale', {'epochs': -1})


def test_per_table_parameters_keep_the_synthesizer_defaults():
    _, metadata = two_tables()
    synthesizer = LLMMultiTableSynthesizer(metadata, enable_gpu=False, random_state=3)
    synthesizer.set_table_parameters('sale', {'epochs': 5})
    parameters = synthesizer.get_table_parameters('sale')['synthesizer_parameters']
    assert parameters['epochs'] == 5 and parameters['random_state'] == 3
    assert parameters['enable_gpu'] is False


def _with_unsupported(data, metadata):
    """Add a self-reference to ``shop`` and a composite-key junction table."""
    spec = metadata.to_dict()
    rng = np.random.default_rng(1)
    shop = data['shop'].copy()
    shop['manager_id'] = np.where(rng.random(len(shop)) < 0.2, np.nan,
                                  rng.choice(shop['shop_id'].to_numpy()[:5], len(shop)))
    spec['tables']['shop']['columns']['manager_id'] = {'sdtype': 'id'}
    link = pd.DataFrame({'shop_id': [0, 0, 1], 'sale_id': [0, 1, 2]})
    spec['tables']['link'] = {'primary_key': ['shop_id', 'sale_id'], 'columns': {
        'shop_id': {'sdtype': 'id'}, 'sale_id': {'sdtype': 'id'}}}
    spec['relationships'] += [
        {'parent_table_name': 'shop', 'parent_primary_key': 'shop_id',
         'child_table_name': 'shop', 'child_foreign_key': 'manager_id'},
        {'parent_table_name': 'shop', 'parent_primary_key': 'shop_id',
         'child_table_name': 'link', 'child_foreign_key': 'shop_id'},
    ]
    return {**data, 'shop': shop, 'link': link}, Metadata.load_from_dict(spec)


def test_self_references_work_and_composite_key_tables_are_left_out_with_warnings(tmp_path):
    data, metadata = _with_unsupported(*two_tables())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        synthesizer = fitted(data, metadata, epochs=1)
    messages = ' '.join(str(w.message) for w in caught)
    assert "Tables ['link'] have a composite primary key" in messages
    assert 'shop.shop_id -> shop.manager_id' in messages
    sampled = synthesizer.sample_scale(1.0)
    assert set(sampled) == {'shop', 'sale'}
    assert_integrity(sampled, synthesizer.metadata)
    managers = sampled['shop']['manager_id']
    assert managers.dropna().isin(set(sampled['shop']['shop_id'])).all()
    assert 0 < managers.isna().mean() < 0.5

    # The model files keep the self-reference and the left-out table.
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMMultiTableSynthesizer.from_pretrained(tmp_path / 'model')
    assert loaded._left_out == ['link']
    synthesizer.reset_sampling()
    before = synthesizer.sample_scale(1.0)
    for table, rows in loaded.sample_scale(1.0).items():
        pd.testing.assert_frame_equal(rows, before[table])


def test_privacy_info_reports_value_protection_per_table(shops):
    """Every modelled table, parent and child, reports what value protection did (counts)."""
    _, _, synthesizer = shops
    info = synthesizer.get_privacy_info()
    assert info['differential_privacy'] is None
    assert set(info['value_protection']) == {'shop', 'sale'}
    for report in info['value_protection'].values():
        assert set(report) == {'hidden_categories', 'clipped', 'unprotected'}
