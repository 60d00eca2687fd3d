"""Mixed training (sdv_llm.mixed): baseline rows first, then the real rows."""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm.schema.codecs.categorical import CategoricalCodec
from sdv_llm.schema.codecs.numerical import NumericalCodec
from sdv_llm.single_table import LLMSynthesizer
from tests.helpers.tables import linear_table

TINY = {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}


_table = linear_table

@pytest.mark.parametrize('baseline', ['GaussianCopulaSynthesizer', 'FastGenSynthesizer'])
def test_mixed_training_pretrains_then_fits_the_real_rows(baseline):
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY, privacy=False, mixed_training={
        'baseline': baseline, 'rows': 600, 'epochs': 1})
    synthesizer.fit({'t': data})
    model = synthesizer._model
    assert model.pretrain_rows == 600  # every baseline row is written exactly
    assert len(model.pretrain_loss_values) == 1 and model.pretrain_loss_values['Loss'].notna().all()
    assert model.pretrain_loss_values['Validation Loss'].isna().all()  # no split of baseline rows
    assert len(model.loss_values) == 2 and model.loss_values['Validation Loss'].notna().all()
    rows = synthesizer.sample(250)['t']
    assert len(rows) == 250 and set(rows['kind']) <= {'a', 'b', 'c'}
    assert rows['x'].between(data['x'].min(), data['x'].max()).all()


def test_baseline_rows_with_values_that_value_protection_hides_are_dropped():
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    synthesizer = LLMSynthesizer(metadata, **TINY, mixed_training={'rows': 600, 'epochs': 1})
    synthesizer.fit({'t': data})  # default privacy: the extreme x and y are clipped
    assert 0 < synthesizer._model.pretrain_rows < 600


def test_mixed_training_changes_the_model_and_is_seeded():
    data = _table()
    metadata = Metadata.detect_from_dataframes({'t': data})
    plain = LLMSynthesizer(metadata, **TINY)
    plain.fit({'t': data})
    runs = []
    for _ in range(2):
        mixed = LLMSynthesizer(metadata, **TINY, mixed_training={'rows': 500, 'epochs': 1})
        mixed.fit({'t': data})
        runs.append(mixed.sample(100)['t'])
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not runs[0].equals(plain.sample(100)['t'])


@pytest.mark.parametrize('value, match', [
    ({'baseline': 'CTGAN'}, 'mixed_training'),
    ({'rows': 0}, 'mixed_training'),
    ({'share': 0.5}, 'mixed_training'),
    ('GaussianCopulaSynthesizer', 'mixed_training'),
])
def test_bad_mixed_training_settings_are_named(value, match):
    metadata = Metadata.detect_from_dataframes({'t': _table(20)})
    with pytest.raises(SynthesizerInputError, match=match):
        LLMSynthesizer(metadata, mixed_training=value)


def test_admissible_drops_values_a_codec_cannot_write():
    categories = CategoricalCodec('c', {'sdtype': 'categorical'}).fit(pd.Series(['a', 'b']))
    assert categories.admissible(pd.Series(['a', 'z', np.nan, 'b'])).tolist() == [
        True, False, False, True]
    numbers = NumericalCodec('n', {'sdtype': 'numerical'}).fit(pd.Series([1.5, 2.25, 3.0]))
    assert numbers.admissible(pd.Series([2.0, 99.0, 1.125])).tolist() == [True, False, False]
