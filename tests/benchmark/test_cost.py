"""Cost measurements: wall time, peak RSS (own process and a spawned worker), saved size."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdv_llm.benchmark import cost, rss
from sdv_llm.benchmark.peers import WORKER

LINUX = sys.platform.startswith('linux')


def _touch(megabytes):
    block = bytearray(megabytes * 2 ** 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


def test_measure_records_time_and_a_peak_above_what_the_block_allocated():
    with cost.measure() as measured:
        block = _touch(200)
        time.sleep(0.05)
    assert measured.seconds >= 0.05
    assert measured.peak_rss_mb >= 200
    assert measured.cuda_max_allocated_mb is None
    del block


@pytest.mark.skipif(not LINUX, reason='the parent-RSS carry-over is a Linux behaviour')
def test_a_spawned_worker_reports_its_own_peak_not_its_parents():
    # Linux keeps ru_maxrss across execve: a worker spawned by a 300 MiB parent used to
    # report 300 MiB. The child loads the peers' worker by path and asks it, as it does.
    block = _touch(300)
    code = ('import runpy, sys\n'
            'worker = runpy.run_path(sys.argv[1])\n'
            'print(worker["_rss"]().peak_mb())\n')
    out = subprocess.run([sys.executable, '-c', code, str(WORKER)], capture_output=True,
                         text=True, check=True).stdout
    assert rss.peak_mb() >= 300
    assert float(out) < 100
    del block


def test_saved_size_is_the_size_of_the_written_file():
    class Saver:
        def save(self, path):
            Path(path).write_bytes(b'x' * 1234)

    assert cost.saved_size(Saver()) == 1234


def test_folder_size_sums_the_files_below(tmp_path):
    (tmp_path / 'a').write_bytes(b'x' * 10)
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'b').write_bytes(b'y' * 5)
    assert cost.folder_size(tmp_path) == 15
