"""A fitted LLMSynthesizer distilled into a script, and the ``sdv-llm fastgen`` command."""

import pandas as pd
from sdv.metadata import Metadata

from sdv_llm.cli import main
from sdv_llm.single_table import LLMSynthesizer
from tests.fastgen.conftest import run_script

TINY = {'epochs': 1, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}


def test_llm_synthesizer_exports_a_script(tmp_path):
    data = pd.read_csv('tests/data/iris.csv')
    metadata = Metadata.detect_from_dataframes({'iris': data})
    synthesizer = LLMSynthesizer(metadata, **TINY)
    synthesizer.fit({'iris': data})
    script = synthesizer.export_script(tmp_path / 'iris_sampler.py', num_rows=500)
    assert 'sampled from a fitted LLMSynthesizer' in script.read_text()
    run_script(script, '-n', 400, '--seed', 0, '-o', tmp_path / 'iris.csv')
    out = pd.read_csv(tmp_path / 'iris.csv')
    assert len(out) == 400 and list(out.columns) == list(data.columns)
    assert set(out[data.columns[-1]]) <= set(data[data.columns[-1]])


def test_cli_fastgen_writes_a_runnable_script(tmp_path):
    script = tmp_path / 'make_titanic.py'
    assert main(['fastgen', 'tests/data/titanic.csv', '-o', str(script)]) == 0
    assert 'sdv-llm fastgen' in script.read_text()
    run_script(script, '-n', 1000, '--seed', 1, '-o', tmp_path / 'titanic.csv')
    assert len(pd.read_csv(tmp_path / 'titanic.csv')) == 1000
