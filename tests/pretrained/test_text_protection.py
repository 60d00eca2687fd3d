"""Value protection and the copy filter with a text serialization (a pretrained backbone)."""

import numpy as np
import pytest
import torch

from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.pretrained.conftest import TRICKY_METADATA, tricky_table


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_text_rows_never_hold_a_hidden_value(tiny_backbone):
    data = tricky_table(160)
    data.loc[3, 'name'] = 'secret'
    data.loc[4, 'amount'] = 999.99
    config = TabularLMConfig(backbone=tiny_backbone, serialization='json', epochs=1,
                             batch_size=32, enable_gpu=False, random_state=0,
                             column_order='fixed', sample_batch_size=100)
    lm = TabularLM(config).fit(data, TRICKY_METADATA)
    assert lm.privacy_info()['value_protection']['hidden_categories'] == {
        'name': {'categories': 1, 'rows': 1}}
    sampled = lm.sample(100)
    assert len(sampled) == 100
    assert set(sampled['name']) <= set(data['name']) - {'secret'}
    assert sampled['amount'].max() <= np.sort(data['amount'])[-6]
    with pytest.raises(ValueError, match='Value protection'):
        lm.sample(2, conditions={'name': ['secret']})
    assert lm.privacy_info()['copy_filter']['last_sample']['rows'] >= 100
