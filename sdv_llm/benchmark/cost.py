"""Cost of a run: wall-clock time, peak memory (RSS, CUDA) and size of the saved model."""

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sdv_llm.benchmark import rss


class Measurement:
    """What :func:`measure` recorded.

    Attributes:
        seconds (float): wall-clock seconds of the block.
        peak_rss_mb (float): peak resident memory of the whole process during the block, MiB
            (:mod:`sdv_llm.benchmark.rss`). It includes what the process already held when
            the block started (libraries, data, memory the allocator kept from earlier
            blocks). On Linux the kernel's counter is reset when the block starts; elsewhere
            it is the process's lifetime peak.
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
    rss.reset_peak()
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
        result.peak_rss_mb = rss.peak_mb()
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
