"""Cost of a run: wall-clock time, peak memory (RSS, CUDA) and size of the saved model."""

import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

_CLEAR_REFS = Path('/proc/self/clear_refs')
_STATUS = Path('/proc/self/status')


def _reset_peak_rss():
    """Reset the kernel's peak-RSS counter (Linux >= 4.0); False where that is not possible."""
    try:
        _CLEAR_REFS.write_text('5')
        return True
    except OSError:
        return False


def _peak_rss_mb(resettable):
    if resettable:
        for line in _STATUS.read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == 'darwin' else peak / 1024


class Measurement:
    """What :func:`measure` recorded.

    Attributes:
        seconds (float): wall-clock seconds of the block.
        peak_rss_mb (float): peak resident memory of the process during the block, MiB. On
            Linux the kernel's counter is reset when the block starts; elsewhere it is the
            process's lifetime peak.
        cuda_max_allocated_mb (float or None): ``torch.cuda.max_memory_allocated`` during the
            block, MiB; ``None`` without CUDA.
    """

    seconds = float('nan')
    peak_rss_mb = float('nan')
    cuda_max_allocated_mb = None


@contextmanager
def measure(cuda=False):
    """Measure a block's wall time and peak memory.

    Args:
        cuda (bool): also record the CUDA peak allocation (resets torch's peak statistics).

    Yields:
        Measurement: filled in when the block exits.
    """
    result = Measurement()
    resettable = _reset_peak_rss()
    torch = None
    if cuda:
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        else:
            torch = None
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        result.peak_rss_mb = _peak_rss_mb(resettable)
        if torch is not None:
            result.cuda_max_allocated_mb = torch.cuda.max_memory_allocated() / 2 ** 20


def saved_size(synthesizer):
    """Bytes of ``synthesizer.save(path)`` (SDV synthesizers pickle themselves).

    Args:
        synthesizer: an object with a ``save(path)`` method.

    Returns:
        int: size of the written file in bytes.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'model.pkl')
        synthesizer.save(path)
        return os.path.getsize(path)


def folder_size(path):
    """Bytes of all files under ``path`` (a peer's saved model folder)."""
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file())
