"""A binned number's sub-bin token shares its bin token's decoder position (one step a value)."""

import numpy as np
import pandas as pd
import torch

from sdv_llm.model.training import merge_positions
from sdv_llm.schema import CodecOptions
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig


def test_merge_positions_packs_second_tokens_into_their_first_tokens_position():
    # <bos>=1, then columns: a (one token 10), b (bin 20 + sub-bin 21), c (one token 30), <eos>=2
    ids = torch.tensor([[1, 10, 20, 21, 30, 2, 0],
                        [1, 20, 22, 10, 30, 2, 0]])
    inputs, targets = ids[:, :-1], ids[:, 1:]
    merged = torch.tensor([[0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0]], dtype=torch.bool)
    columns = torch.arange(6).repeat(2, 1)
    states = torch.arange(100, 106).repeat(2, 1)
    labels = targets.clone()
    fed, extras, cols, first_states, first_labels, firsts, sub_states, sub_labels = \
        merge_positions(inputs, targets, columns, states, labels, merged, pad=0)
    assert fed.tolist() == [[1, 10, 20, 30, 2], [1, 20, 10, 30, 2]]
    assert extras.tolist() == [[-1, -1, 21, -1, -1], [-1, 22, -1, -1, -1]]
    assert firsts.tolist() == [[10, 20, 30, 2, 0], [20, 10, 30, 2, 0]]
    assert first_labels.tolist() == [[10, 20, 30, 2, 0], [20, 10, 30, 2, 0]]
    assert sub_labels.tolist() == [[-100, 21, -100, -100, -100], [22, -100, -100, -100, -100]]
    assert sub_states.tolist()[0][1] == 102 and sub_states.tolist()[1][0] == 101
    assert cols.tolist()[0] == [0, 1, 3, 4, 5] and first_states.tolist()[1][:2] == [100, 102]


def _binned_table(rows=600, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.choice(['low', 'high'], rows)
    value = np.where(group == 'low', rng.normal(100, 5, rows), rng.normal(500, 50, rows))
    return pd.DataFrame({'group': group, 'value': np.round(value, 2),
                         'count': rng.integers(0, 5, rows)})


def test_binned_numbers_take_one_step_and_keep_conditions_exact():
    data = _binned_table(2000)
    columns = {'group': {'sdtype': 'categorical'}, 'value': {'sdtype': 'numerical'},
               'count': {'sdtype': 'numerical'}}
    config = TabularLMConfig(epochs=20, batch_size=64, embedding_dim=64, num_layers=2,
                             num_heads=2, enable_gpu=False, random_state=0,
                             codec_options=CodecOptions(max_sub_bins=10), merge_sub_tokens=True)
    lm = TabularLM(config).fit(data, columns)
    codec = lm.schema.codecs['value']
    assert codec.mode == 'bins' and codec.bins.count.max() > 1 and lm.model.sub_tokens
    sampled = lm.sample(2000)
    assert sampled['value'].between(data['value'].min(), data['value'].max()).all()
    assert (np.round(sampled['value'], 2) == sampled['value']).all()
    # The model learned the bin and the sub-bin jointly with the rest of the row.
    means = sampled.groupby('group')['value'].mean()
    assert abs(means['low'] - 100) < 15 and abs(means['high'] - 500) < 60
    ranged = lm.sample(300, conditions={'value': (101.23, 104.56)})
    assert ranged['value'].between(101.23, 104.56).all()
    listed = lm.sample(200, conditions={'value': [99.87, 512.34]})
    assert set(listed['value']) <= {99.87, 512.34}
    known = pd.DataFrame({'value': [123.45, 456.78] * 50})
    filled = lm.sample_known(known)
    assert (filled['value'] == known['value']).all()


def test_merge_sub_tokens_is_a_synthesizer_parameter_kept_in_model_files(tmp_path):
    from sdv.metadata import Metadata
    from sdv.single_table import LLMSynthesizer

    data = _binned_table(4000)  # enough rows per bin for sub-bins (about 20 values each)
    metadata = Metadata.detect_from_dataframes({'t': data})
    assert LLMSynthesizer(metadata).get_parameters()['merge_sub_tokens'] is False
    synthesizer = LLMSynthesizer(metadata, epochs=1, batch_size=64, embedding_dim=16,
                                 num_layers=1, num_heads=2, enable_gpu=False, random_state=0,
                                 merge_sub_tokens=True)
    synthesizer.fit({'t': data})
    # One decoder position per binned number, with the layer that predicts the sub-bin token.
    assert synthesizer._model.model.sub_tokens and hasattr(synthesizer._model.model, 'sub_layer')
    directory = tmp_path / 'model'
    synthesizer.save_pretrained(directory)
    loaded = LLMSynthesizer.from_pretrained(directory)
    assert loaded._model.model.sub_tokens
    rows = loaded.sample(300)['t']
    assert len(rows) == 300
    assert rows['value'].between(data['value'].min(), data['value'].max()).all()
