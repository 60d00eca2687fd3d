"""Checkpoints: a SIGKILLed fit resumed from its folder ends as an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parent.parent.parent


def _run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.Popen([sys.executable, '-m', 'tests.persistence.checkpoint_worker',
                             *map(str, args)], cwd=ROOT, env=env, **kwargs)


def _finish(process):
    assert process.wait(timeout=240) == 0


@pytest.mark.timeout(300)
def test_sigkilled_fit_resumes_to_the_same_model(tmp_path):
    _finish(_run([tmp_path / 'whole', tmp_path / 'whole']))

    killed = _run([tmp_path / 'resumed', tmp_path / 'killed', 'slow'])
    latest = tmp_path / 'resumed' / 'latest.json'
    deadline = time.time() + 200
    while not latest.exists() and time.time() < deadline and killed.poll() is None:
        time.sleep(0.1)
    assert latest.exists()
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert not (tmp_path / 'killed_loss.csv').exists()
    assert (tmp_path / 'resumed' / 'epoch-0000').is_dir()

    _finish(_run([tmp_path / 'resumed', tmp_path / 'resumed']))
    assert (tmp_path / 'whole_resumed_after.txt').read_text() == ''
    assert int((tmp_path / 'resumed_resumed_after.txt').read_text()) >= 0  # not from scratch
    columns = ['Epoch', 'Step', 'Loss', 'Validation Loss']
    whole = pd.read_csv(tmp_path / 'whole_loss.csv')
    resumed = pd.read_csv(tmp_path / 'resumed_loss.csv')
    assert len(whole) == 4
    pd.testing.assert_frame_equal(whole[columns], resumed[columns])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / 'whole_rows.csv'),
                                  pd.read_csv(tmp_path / 'resumed_rows.csv'))


def test_checkpoint_of_another_fit_is_refused(tmp_path, iris, tiny):
    from sdv_llm.single_table import LLMSynthesizer

    data, metadata = iris
    LLMSynthesizer(metadata, **{**tiny, 'epochs': 1}).fit({'iris': data},
                                                          checkpoint_dir=tmp_path)
    assert (tmp_path / 'latest.json').exists()
    other = LLMSynthesizer(metadata, **{**tiny, 'epochs': 1, 'learning_rate': 1e-3})
    with pytest.raises(ValueError, match='written by another fit'):
        other.fit({'iris': data}, checkpoint_dir=tmp_path)
