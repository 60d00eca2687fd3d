"""A serialization added as one module and a registration (``toy_tsv.py``), used end to end."""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm.plugins import get_plugin_manager, get_serializations
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.backbones import save_config_backbone
from tests.serialization import toy_tsv


def _table(num_rows, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        'group': rng.choice(['Oslo', 'Rome', 'tab\there', 'say "hi"'], num_rows),
        'amount': np.round(rng.normal(20, 5, num_rows), 1),
        'count': rng.integers(0, 12, num_rows),
        'maybe': np.where(rng.random(num_rows) < 0.3, np.nan, rng.integers(1, 5, num_rows)),
    })


@pytest.fixture
def tsv_plugin():
    manager = get_plugin_manager()
    manager.register(toy_tsv, name='toy_tsv')
    yield toy_tsv
    manager.unregister(name='toy_tsv')


@pytest.fixture(scope='module')
def backbone(tmp_path_factory):
    rows = _table(200, seed=1)
    texts = ['\t'.join(map(str, row)) + '\n' for row in rows.itertuples(index=False)]
    return save_config_backbone(tmp_path_factory.mktemp('tsv-gpt2'), texts * 3, vocab_size=300)


def test_registered_through_the_hook_only(tsv_plugin):
    assert 'tsv' in get_serializations()
    assert get_serializations()['tsv'].serializer is toy_tsv.TSVSerializer


def test_unregistered_name_is_refused(backbone):
    data = _table(40)
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, backbone=backbone, serialization='tsv', epochs=1)
    with pytest.raises(ValueError, match="Unknown serialization 'tsv'"):
        synthesizer.fit({'t': data})


def test_samples_valid_rows(tsv_plugin, backbone):
    data = _table(160)
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('group', 't', sdtype='categorical')
    synthesizer = LLMSynthesizer(metadata, backbone=backbone, serialization='tsv', epochs=2,
                                 batch_size=32, column_order='fixed', enable_gpu=False,
                                 privacy=False)
    synthesizer.fit({'t': data})
    model = synthesizer._model
    assert isinstance(model.serializer, toy_tsv.TSVSerializer)
    # The rows are tab-separated lines under the header, and read back exactly.
    tab = data[data['group'] == 'tab\there'].head(1)
    assert model.serializer.to_text(tab)[0].startswith('group\tamount\tcount\tmaybe\n"tab\there"\t')
    ids, _ = model.serializer.assemble(model.serializer.encode_blocks(data))
    back = model.serializer.decode(ids[:, len(model.serializer.prompt):])
    assert (back['group'].to_numpy() == data['group'].to_numpy()).all()
    np.testing.assert_allclose(back['amount'].astype(float), data['amount'])

    sampled = synthesizer.sample(50)['t']
    assert len(sampled) == 50
    assert set(sampled['group']) <= set(data['group'])
    assert sampled['amount'].between(data['amount'].min(), data['amount'].max()).all()
    assert (sampled['amount'].round(1) == sampled['amount']).all()
    assert sampled['count'].between(0, 11).all()
    known = sampled['maybe'].dropna()
    assert known.isin([1, 2, 3, 4]).all()
