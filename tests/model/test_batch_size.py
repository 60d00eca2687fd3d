"""The automatic training batch is bounded in tokens, so wide tables train in fewer rows."""
import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm import sequence_lm
from sdv_llm.sequence_lm import BATCH_TOKENS, auto_batch_size
from sdv_llm.single_table import LLMSynthesizer


@pytest.mark.parametrize(('rows', 'row_tokens', 'expected'), [
    (32_561, None, 512),        # adult: about 1/16 of the rows, capped at 512
    (32_561, 60, 512),          # short rows: the token budget does not bind
    (10_000, 1_000, 64),        # 500 numeric columns: 65,536 // 1,000 rounded down to 2**6
    (200, 100_000, 4),          # never fewer than 4 rows
    (100, None, 16),
])
def test_automatic_batch_size(rows, row_tokens, expected):
    size = auto_batch_size(rows, row_tokens)
    assert size == expected
    if row_tokens and expected > 4:
        assert size * row_tokens <= BATCH_TOKENS


def test_a_wide_table_trains_in_batches_within_the_token_budget(monkeypatch, tiny):
    monkeypatch.setattr(sequence_lm, 'BATCH_TOKENS', 128)
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.integers(0, 100, size=(256, 12)),
                        columns=[f'c{i}' for i in range(12)])
    metadata = Metadata.detect_from_dataframes({'wide': data})
    tiny.pop('batch_size')
    synthesizer = LLMSynthesizer(metadata, **{**tiny, 'epochs': 1})
    synthesizer.fit({'wide': data})
    model = synthesizer._model
    row_tokens = model.row_tokens
    assert 12 < row_tokens <= model.serializer.max_length
    assert model.training_config.batch_size == auto_batch_size(256, row_tokens) < 16
    assert model.training_config.batch_size * row_tokens <= 128
    assert len(synthesizer.sample(20)['wide']) == 20
