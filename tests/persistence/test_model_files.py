"""Model files: the safe directory format, package versions, and the CLI's checks."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_llm import version
from sdv_llm.cli import main
from sdv_llm.persistence import ModelFileError
from sdv_llm.single_table import LLMSynthesizer
from sdv_llm.state import UnsafeStateError

ROOT = Path(__file__).parent.parent.parent
TINY_ARGS = ['--epochs', '1', '--embedding-dim', '16', '--num-layers', '1', '--cpu',
             '--random-state', '0']

LOAD_AND_SAMPLE = """
import sys, warnings
warnings.simplefilter('ignore')
from sdv_llm.single_table import LLMSynthesizer
LLMSynthesizer.from_pretrained(sys.argv[1]).sample(40)['t'].to_csv(sys.argv[2], index=False)
"""


class Payload:
    """Unpickling this writes a marker file: what a crafted pickle would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), 'pwned'))


@pytest.fixture(scope='module')
def fitted(tmp_path_factory):
    """A tiny fit on iris with a primary key, a PII column and two datetime columns."""
    data = pd.read_csv(ROOT / 'tests' / 'data' / 'iris.csv')
    data['row_id'] = np.arange(len(data))
    data['email'] = [f'user{i}@example.org' for i in range(len(data))]
    data['day'] = pd.date_range('2020-01-01', periods=len(data)).strftime('%Y-%m-%d')
    data['stamp'] = pd.date_range('2021-01-01', periods=len(data), freq='h')
    metadata = Metadata.detect_from_dataframes({'t': data})
    metadata.update_column('row_id', table_name='t', sdtype='id')
    metadata.set_primary_key('row_id', table_name='t')
    metadata.update_column('day', table_name='t', sdtype='datetime', datetime_format='%Y-%m-%d')
    synthesizer = LLMSynthesizer(metadata, epochs=1, batch_size=64, embedding_dim=16,
                                 num_layers=1, num_heads=2, enable_gpu=False, random_state=0)
    synthesizer.fit({'t': data})
    directory = tmp_path_factory.mktemp('model') / 'model'
    synthesizer.save_pretrained(directory)
    return synthesizer, directory


def _copy(directory, tmp_path):
    import shutil

    target = tmp_path / 'copy'
    shutil.copytree(directory, target)
    return target


def test_layout_is_json_and_safetensors(fitted):
    _, directory = fitted
    assert sorted(p.name for p in directory.iterdir()) == [
        'model.json', 'model.safetensors', 'sdv_llm.json']
    saved = json.loads((directory / 'sdv_llm.json').read_text())
    assert saved['sdv_llm_version'] == version.__version__
    assert saved['format'] == 'sdv_llm.LLMSynthesizer'
    json.loads((directory / 'model.json').read_text())


def test_loads_in_a_fresh_process_and_samples_the_same_rows(fitted, tmp_path):
    synthesizer, directory = fitted
    synthesizer.reset_sampling()
    before = synthesizer.sample(40)['t']
    out = tmp_path / 'rows.csv'
    subprocess.run([sys.executable, '-c', LOAD_AND_SAMPLE, str(directory), str(out)],
                   check=True, cwd=ROOT, timeout=120,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    after = pd.read_csv(out)
    before.to_csv(tmp_path / 'before.csv', index=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / 'before.csv'), after)
    loaded = LLMSynthesizer.from_pretrained(directory)
    pd.testing.assert_frame_equal(loaded.sample(40)['t'], before)  # dtypes too
    assert loaded.get_loss_values().equals(synthesizer.get_loss_values())
    assert loaded.get_column_order()['order'] == synthesizer.get_column_order()['order']


def test_crafted_json_cannot_run_code(fitted, tmp_path):
    directory = _copy(fitted[1], tmp_path)
    marker = tmp_path / 'marker'
    state = json.loads((directory / 'model.json').read_text())
    state['schema']['class'] = 'os.system'  # a dotted path: never imported
    (directory / 'model.json').write_text(json.dumps(state))
    with pytest.raises(UnsafeStateError, match="'os.system'"):
        LLMSynthesizer.from_pretrained(directory)
    state['schema'] = {'__type__': 'object', 'class': 'Payload', 'state': {}}
    (directory / 'model.json').write_text(json.dumps(state))
    with pytest.raises(UnsafeStateError, match="'Payload'"):
        LLMSynthesizer.from_pretrained(directory)
    assert not marker.exists()


def test_pickled_weights_are_not_unpickled(fitted, tmp_path):
    directory = _copy(fitted[1], tmp_path)
    marker = tmp_path / 'marker'
    (directory / 'model.safetensors').write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(Exception):  # noqa: B017 (safetensors' own error type)
        LLMSynthesizer.from_pretrained(directory)
    assert not marker.exists()


def test_another_version_is_named(fitted, tmp_path):
    directory = _copy(fitted[1], tmp_path)
    state = json.loads((directory / 'sdv_llm.json').read_text())
    state['sdv_llm_version'] = '0.0.9'
    (directory / 'sdv_llm.json').write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match=rf'0\.0\.9.*{version.__version__}'):
        LLMSynthesizer.from_pretrained(directory)


def test_pickle_from_another_version_names_both(fitted, tmp_path, monkeypatch):
    from sdv.utils import load_synthesizer

    synthesizer, _ = fitted
    path = tmp_path / 'old.pkl'
    monkeypatch.setattr(version, '__version__', '0.0.9')
    synthesizer.save(path)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match=rf'0\.0\.9.*{version.__version__}'):
        load_synthesizer(str(path))
    with pytest.raises(ModelFileError, match=rf'0\.0\.9.*{version.__version__}'):
        LLMSynthesizer.load(path)


def test_pickle_whose_class_moved_gives_a_clear_error(fitted, tmp_path, monkeypatch):
    synthesizer, _ = fitted
    path = tmp_path / 'moved.pkl'
    monkeypatch.setattr(version, '__version__', '0.0.9')
    synthesizer.save(path)
    monkeypatch.undo()
    raw = path.read_bytes()
    assert b'LLMSynthesizer' in raw
    path.write_bytes(raw.replace(b'LLMSynthesizer', b'LLMSynthesizeX'))  # the class moved
    with pytest.raises(ModelFileError, match=rf'0\.0\.9.*{version.__version__}'):
        LLMSynthesizer.load(path)


def test_pickle_of_this_version_loads(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'same.pkl'
    synthesizer.save(path)
    assert LLMSynthesizer.load(path).sample(5)['t'].shape[0] == 5


def test_cli_checks_the_output_before_training(iris, tmp_path, monkeypatch):
    data, _ = iris
    csv = tmp_path / 'iris.csv'
    data.to_csv(csv, index=False)

    def no_fit(*args, **kwargs):
        raise AssertionError('trained before checking the output path')

    monkeypatch.setattr(LLMSynthesizer, 'fit', no_fit)
    for output in (tmp_path / 'missing' / 'm.pkl', tmp_path / 'missing' / 'model'):
        with pytest.raises(SystemExit, match='does not exist'):
            main(['fit', str(csv), '-o', str(output), *TINY_ARGS])
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'notes.txt').write_text('mine')
    with pytest.raises(SystemExit, match='other files'):
        main(['fit', str(csv), '-o', str(tmp_path / 'busy'), *TINY_ARGS])


def test_cli_clear_errors(tmp_path, fitted):
    out = str(tmp_path / 'out.csv')
    with pytest.raises(SystemExit, match='does not exist'):
        main(['sample', str(tmp_path / 'nothing'), '-n', '5', '-o', out])
    text = tmp_path / 'notes.txt'
    text.write_text('not a model')
    with pytest.raises(SystemExit, match='neither a model directory nor a pickle'):
        main(['sample', str(text), '-n', '5', '-o', out])
    with pytest.raises(SystemExit, match='not a model directory'):
        main(['sample', str(tmp_path), '-n', '5', '-o', out])
    csv = tmp_path / 'iris.csv'
    pd.read_csv(ROOT / 'tests' / 'data' / 'iris.csv').to_csv(csv, index=False)
    bad = tmp_path / 'meta.json'
    bad.write_text('{"tables": ')
    with pytest.raises(SystemExit, match='meta.json: the metadata is not valid JSON'):
        main(['fit', str(csv), '--metadata', str(bad), '-o', str(tmp_path / 'm'), *TINY_ARGS])


def test_cli_fit_writes_the_safe_format_and_samples_it(iris, tmp_path):
    data, metadata = iris
    csv, meta, model, out = (tmp_path / n for n in ('iris.csv', 'm.json', 'model', 'out.csv'))
    data.to_csv(csv, index=False)
    metadata.save_to_json(meta)
    assert main(['fit', str(csv), '--metadata', str(meta), '-o', str(model), *TINY_ARGS]) == 0
    assert (model / 'sdv_llm.json').is_file() and (model / 'model.safetensors').is_file()
    assert main(['sample', str(model), '-n', '20', '-o', str(out), '--seed', '1']) == 0
    assert len(pd.read_csv(out)) == 20
