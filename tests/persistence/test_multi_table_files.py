"""Multi-table model files and checkpoints: round trip, crafted files, versions, SIGKILL."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sdv_llm import version
from sdv_llm.multi_table import LLMMultiTableSynthesizer
from sdv_llm.persistence import ModelFileError
from sdv_llm.state import UnsafeStateError
from tests.persistence.multi_checkpoint_worker import TABLES, build, write

ROOT = Path(__file__).parent.parent.parent
LOSS_COLUMNS = ['Epoch', 'Step', 'Loss', 'Validation Loss']

LOAD_AND_SAMPLE = """
import sys, warnings
warnings.simplefilter('ignore')
from sdv_llm.multi_table import LLMMultiTableSynthesizer
from tests.persistence.multi_checkpoint_worker import write
write(LLMMultiTableSynthesizer.from_pretrained(sys.argv[1]), sys.argv[2])
"""


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))


@pytest.fixture(scope='module')
def whole(tmp_path_factory):
    """An uninterrupted fit with a checkpoint folder, its outputs, and its model folder."""
    folder = tmp_path_factory.mktemp('whole')
    data, synthesizer = build()
    synthesizer.fit(data, checkpoint_dir=folder / 'checkpoints')
    write(synthesizer, folder / 'whole')
    synthesizer.save_pretrained(folder / 'model')
    return synthesizer, folder


def _assert_same(prefix, other):
    for table in TABLES:
        loss = pd.read_csv(f'{prefix}_{table}_loss.csv')
        assert len(loss) == 3, table
        pd.testing.assert_frame_equal(loss[LOSS_COLUMNS],
                                      pd.read_csv(f'{other}_{table}_loss.csv')[LOSS_COLUMNS])
        pd.testing.assert_frame_equal(pd.read_csv(f'{prefix}_{table}_rows.csv'),
                                      pd.read_csv(f'{other}_{table}_rows.csv'))


def test_layout_and_the_finished_checkpoints(whole):
    _, folder = whole
    model = folder / 'model'
    saved = json.loads((model / 'sdv_llm.json').read_text())
    assert saved['format'] == 'sdv_llm.LLMMultiTableSynthesizer'
    assert saved['sdv_llm_version'] == version.__version__
    assert saved['table_order'] == ['shop', 'sale']
    assert saved['tables'] == {'shop': 'shop', 'sale': 'sale'}
    for table, model_class in (('shop', 'TabularLM'), ('sale', 'ChildrenLM')):
        assert sorted(p.name for p in (model / 'tables' / table).iterdir()) == [
            'model.json', 'model.safetensors', 'sdv_llm.json']
        table_file = json.loads((model / 'tables' / table / 'sdv_llm.json').read_text())
        assert table_file['model_class'] == model_class
        checkpoint = folder / 'checkpoints' / 'tables' / table
        assert sorted(p.name for p in checkpoint.iterdir()) == ['complete']
        assert (checkpoint / 'complete' / 'table.json').is_file()
    with pytest.raises(ModelFileError, match='ChildrenLM'):  # not a single-table model
        from sdv_llm.single_table import LLMSynthesizer

        LLMSynthesizer.from_pretrained(model / 'tables' / 'sale')


def test_loads_in_a_fresh_process_and_samples_the_same_tables(whole, tmp_path):
    synthesizer, folder = whole
    subprocess.run([sys.executable, '-c', LOAD_AND_SAMPLE, str(folder / 'model'),
                    str(tmp_path / 'loaded')], check=True, cwd=ROOT, timeout=120, env=_env())
    _assert_same(folder / 'whole', tmp_path / 'loaded')
    loaded = LLMMultiTableSynthesizer.load(folder / 'model')
    synthesizer.reset_sampling()
    before = synthesizer.sample_scale(0.5)
    for table, rows in loaded.sample_scale(0.5).items():
        pd.testing.assert_frame_equal(rows, before[table])  # dtypes too
    assert loaded.get_conditioning_parents() == synthesizer.get_conditioning_parents()


def test_crafted_table_file_cannot_run_code(whole, tmp_path):
    directory = tmp_path / 'copy'
    shutil.copytree(whole[1] / 'model', directory)
    path = directory / 'tables' / 'sale' / 'model.json'
    state = json.loads(path.read_text())
    state['schema']['class'] = 'os.system'  # a dotted path: never imported
    path.write_text(json.dumps(state))
    with pytest.raises(UnsafeStateError, match="'os.system'"):
        LLMMultiTableSynthesizer.from_pretrained(directory)
    top = json.loads((directory / 'sdv_llm.json').read_text())
    top['tables']['sale'] = '../../elsewhere'
    (directory / 'sdv_llm.json').write_text(json.dumps(top))
    with pytest.raises(ModelFileError, match='invalid table folder'):
        LLMMultiTableSynthesizer.from_pretrained(directory)


def test_another_version_is_named(whole, tmp_path):
    directory = tmp_path / 'copy'
    shutil.copytree(whole[1] / 'model', directory)
    state = json.loads((directory / 'sdv_llm.json').read_text())
    state['sdv_llm_version'] = '0.0.9'
    (directory / 'sdv_llm.json').write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match=rf'0\.0\.9.*{version.__version__}'):
        LLMMultiTableSynthesizer.from_pretrained(directory)
    with pytest.raises(ModelFileError, match='not an sdv_llm model file'):
        LLMMultiTableSynthesizer.from_pretrained(directory / 'tables' / 'shop')


def test_pickle_carries_the_version(whole, tmp_path):
    synthesizer, _ = whole
    synthesizer.save(tmp_path / 'model.pkl')
    loaded = LLMMultiTableSynthesizer.load(tmp_path / 'model.pkl')
    assert loaded.get_conditioning_parents() == synthesizer.get_conditioning_parents()


def _worker(args):
    return subprocess.Popen([sys.executable, '-m', 'tests.persistence.multi_checkpoint_worker',
                             *map(str, args)], cwd=ROOT, env=_env())


@pytest.mark.timeout(300)
def test_sigkilled_fit_resumes_table_by_table_to_the_same_model(whole, tmp_path):
    checkpoints = tmp_path / 'checkpoints'
    killed = _worker([checkpoints, tmp_path / 'killed', 'slow'])
    sale = checkpoints / 'tables' / 'sale' / 'training' / 'latest.json'
    deadline = time.time() + 200
    while not sale.exists() and time.time() < deadline and killed.poll() is None:
        time.sleep(0.1)
    assert sale.exists()
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert (checkpoints / 'tables' / 'shop' / 'complete' / 'table.json').is_file()
    assert not (checkpoints / 'tables' / 'sale' / 'complete').exists()

    resumed = _worker([checkpoints, tmp_path / 'resumed'])
    assert resumed.wait(timeout=240) == 0
    assert (tmp_path / 'resumed_skipped.txt').read_text().split() == ['shop']
    assert not (tmp_path / 'resumed_shop_resumed_after.txt').exists()  # read back, not trained
    assert int((tmp_path / 'resumed_sale_resumed_after.txt').read_text()) >= 0
    _assert_same(whole[1] / 'whole', tmp_path / 'resumed')


def test_checkpoint_of_another_fit_is_refused(whole):
    data, synthesizer = build()
    synthesizer.set_table_parameters('shop', {'learning_rate': 1e-3})
    with pytest.raises(ValueError, match="table 'shop'.*another fit"):
        synthesizer.fit(data, checkpoint_dir=whole[1] / 'checkpoints')
