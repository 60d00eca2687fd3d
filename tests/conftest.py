import warnings
from pathlib import Path

import pandas as pd
import pytest
from sdv.metadata import Metadata

DATA = Path(__file__).parent / 'data'

# A tiny model that trains in about a second on 2 CPU cores.
TINY = {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0, 'sample_batch_size': 512}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield


@pytest.fixture(autouse=True, scope='session')
def _plain_training_by_default():
    """The small-table strategies that ``'auto'`` turns on under 2,000 rows (mixed training's
    20 epochs on 5,000 baseline rows, the critic's 3x sampling) would make every tiny fit of
    the suite many times slower: tests train plainly unless they ask for a strategy, and
    tests/test_small_tables.py checks the ``'auto'`` rule itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr('sdv_llm.model.training.SMALL_TABLE_ROWS', 0)
        yield


@pytest.fixture
def titanic():
    data = pd.read_csv(DATA / 'titanic.csv')
    return data, Metadata.detect_from_dataframes({'titanic': data})


@pytest.fixture
def iris():
    data = pd.read_csv(DATA / 'iris.csv')
    return data, Metadata.detect_from_dataframes({'iris': data})


@pytest.fixture
def tiny():
    return dict(TINY)
