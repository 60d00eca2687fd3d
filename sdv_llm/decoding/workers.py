"""Sampling batches in parallel processes on a CPU, one core each.

A sampling step of the embedded decoder is a few dozen small tensor operations over a batch of
rows. Split across cores by PyTorch's intra-op threads, each operation pays a fork-join of the
thread pool, so two cores sample only about 1.1x faster than one; the Python work between the
operations (holding the GIL) also keeps threads of one process from overlapping. Separate
processes with one thread each run whole batches side by side instead. Measured on a 2-core
CPU (BENCHMARKS.md, 2026-12-08): a batch of adult took 0.185 s with two threads and 0.23-0.29 s
with one, and two one-thread processes sampling side by side drew 1.85x the rows per second of
one two-thread process; inside one ``sample`` call, where decoding the token ids and the copy
filter stay in the calling process, sampling was 1.07-1.25x faster on four tables.

The processes are forked, so they share the decoder's weights, the plan and the automaton with
the caller without pickling them, and start in milliseconds; only each batch's token ids come
back through a pipe. Batches are drawn with their own seeds (see ``sample_sequences``), so the
rows do not depend on how many processes draw them.
"""

import multiprocessing
import sys

import torch

_TASK = None
"""The function the forked processes run on each item (inherited through ``fork``)."""


def sampling_workers(device, batches, requested=None):
    """How many processes sample ``batches`` batches on ``device``.

    Args:
        device (torch.device): where the model runs; only a CPU uses several processes.
        batches (int): sampling batches to draw.
        requested (int or None): most processes; ``None`` takes ``torch.get_num_threads()``
            (PyTorch's intra-op threads, by default the machine's physical cores), so a
            program that limits PyTorch's threads limits sampling too.

    Returns:
        int: at least 1, at most ``batches``; 1 where forking is not available or not safe
        (not Linux, a daemonic process such as a ``multiprocessing.Pool`` worker, or an
        accelerator device).

    Raises:
        ValueError: ``requested`` below 1.
    """
    if requested is not None and int(requested) < 1:
        raise ValueError(f"Invalid value {requested!r} for 'sampling_workers': it must be None "
                         'or a positive integer.')
    if device.type != 'cpu' or not sys.platform.startswith('linux'):
        return 1
    if multiprocessing.current_process().daemon:
        return 1
    wanted = torch.get_num_threads() if requested is None else int(requested)
    return max(1, min(wanted, batches))


def _one_thread():
    torch.set_num_threads(1)


def _run(item):
    return _TASK(item)


def map_batches(function, items, workers):
    """``[function(item) for item in items]``, in ``workers`` forked processes.

    Args:
        function (callable): takes one item and returns a picklable result (a numpy array of
            token ids). It is not pickled: the processes inherit it through ``fork``.
        items (list): picklable arguments, one per batch.
        workers (int): processes (``sampling_workers``); 1 runs in this process.

    Returns:
        list: the results in the order of ``items``.

    Raises:
        Exception: whatever ``function`` raised in a process, raised again here.
    """
    global _TASK
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    _TASK = function
    try:
        context = multiprocessing.get_context('fork')
        with context.Pool(workers, initializer=_one_thread) as pool:
            return pool.map(_run, items, chunksize=1)
    finally:
        _TASK = None
