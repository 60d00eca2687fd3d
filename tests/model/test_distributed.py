"""Data-parallel training over several processes (two CPU processes over gloo).

``accelerate launch --multi_gpu`` starts its processes with torchrun; on CPU the test starts
them with torchrun directly (accelerate's CPU launcher needs MPI). In both, accelerate's
``PartialState`` reads the same environment and joins the process group.
"""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATA
from tests.helpers.backbones import save_config_backbone

WORKER = Path(__file__).with_name('ddp_worker.py')
ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize('backbone', ['default', 'lora'])
def test_two_processes_train_one_model_on_halves_of_every_batch(tmp_path, backbone):
    iris = DATA / 'iris.csv'
    if backbone == 'lora':  # a tiny GPT-2 and tokenizer built here, adapted with LoRA
        texts = [', '.join(f'{c} is {v}' for c, v in row.items())
                 for _, row in pd.read_csv(iris).iterrows()]
        backbone = str(save_config_backbone(tmp_path / 'gpt2', texts, vocab_size=300))
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
               '--master_port', str(_free_port()),
               str(WORKER), str(tmp_path), str(iris), backbone]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f'rank{i}.json').read_text()) for i in (0, 1)]
    rows = len(pd.read_csv(DATA / 'iris.csv'))
    assert [r['processes'] for r in ranks] == [2, 2]
    # Each process's loss saw its share of every batch: together, every row of each epoch.
    assert ranks[0]['rows_seen'] + ranks[1]['rows_seen'] == 3 * rows
    assert abs(ranks[0]['rows_seen'] - ranks[1]['rows_seen']) <= 3 * 5  # ceil per batch
    # Gradients were averaged (DDP): both processes end with the same weights and losses.
    assert ranks[0]['checksum'] == ranks[1]['checksum']
    assert ranks[0]['first'] == ranks[1]['first']
    assert ranks[0]['losses'] == ranks[1]['losses']
    assert ranks[0]['valid_species'] and ranks[1]['valid_species']
