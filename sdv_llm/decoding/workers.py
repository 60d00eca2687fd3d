"""Sampling batches in parallel processes on a CPU, one core each.

A sampling step of the embedded decoder is a few dozen small tensor operations over a batch of
rows. Split across cores by PyTorch's intra-op threads, each operation pays a fork-join of the
thread pool, so two cores sample only about 1.1x faster than one; the Python work between the
operations (holding the GIL) also keeps threads of one process from overlapping. Separate
processes with one thread each run whole batches side by side instead. Measured on a 2-core
CPU (BENCHMARKS.md, 2026-12-08): a batch of adult took 0.185 s with two threads and 0.23-0.29 s
with one, and two one-thread processes sampling side by side drew 1.85x the rows per second of
one two-thread process. Inside one ``sample`` call, batches in a ``multiprocessing.Pool`` made
sampling 1.07-1.25x faster on four tables; forking directly, with the caller drawing its own
share and each batch decoded where it was drawn, added 1.08x (adult) and 1.16x (bank). Equal
batches in an even number (``sampler.sampling_batches``) added 1.12x on bank, and the copy
filter's row hashes computed where each batch was drawn about 1.04-1.08x (nineteenth session).

The processes are forked (``os.fork``), so they share the decoder's weights, the plan and the
automaton with the caller without pickling them, and start in milliseconds; the caller draws
its own share of the batches meanwhile, and only each batch's result (its token ids, or the
rows decoded from them) comes back through a pipe. Batches are drawn with their own seeds (see
``sample_sequences``), so the rows do not depend on how many processes draw them.
"""

import multiprocessing
import os
import pickle
import sys

import torch


def sampling_workers(device, batches, requested=None):
    """How many processes sample ``batches`` batches on ``device``.

    Args:
        device (torch.device): where the model runs; only a CPU uses several processes.
        batches (int): sampling batches to draw.
        requested (int or None): most processes; ``None`` takes ``torch.get_num_threads()``
            (PyTorch's intra-op threads, by default the machine's physical cores), so a
            program that limits PyTorch's threads limits sampling too.

    Returns:
        int: at least 1, at most ``batches``; 1 on an accelerator device, outside Linux
        (``fork`` is missing or unsafe there) and in a daemonic process (a
        ``multiprocessing.Pool`` worker, whose siblings already use the cores).

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


def map_batches(function, items, workers):
    """``[function(item) for item in items]``, shared among this process and ``workers - 1``
    forked ones.

    Process ``k`` takes items ``k, k + workers, ...`` (this process is 0), on one PyTorch
    thread (this process's thread count is restored after). A forked process inherits
    ``function`` and everything it reads, sends its results back pickled through a pipe and
    exits with ``os._exit``.

    Args:
        function (callable): takes one item and returns a picklable result (token ids, or the
            decoded rows of a batch). It is not pickled.
        items (list): arguments, one per batch.
        workers (int): processes (``sampling_workers``); 1 runs every item here.

    Returns:
        list: the results in the order of ``items``.

    Raises:
        Exception: whatever ``function`` raised here or in a forked process (raised again
            here; a ``RuntimeError`` naming it where it cannot be pickled).
    """
    workers = min(int(workers), len(items))
    if workers <= 1:
        return [function(item) for item in items]
    threads = torch.get_num_threads()
    results = [None] * len(items)
    children = []
    try:
        for k in range(1, workers):
            children.append(_fork(function, items[k::workers]))
        torch.set_num_threads(1)
        results[0::workers] = [function(item) for item in items[0::workers]]
    finally:
        torch.set_num_threads(threads)
        outcomes = [_collect(pid, pipe) for pid, pipe in children]
    for k, (ok, value) in enumerate(outcomes, start=1):
        if not ok:
            raise value
        results[k::workers] = value
    return results


def _fork(function, items):
    """Start a process computing ``[function(item) for item in items]``; returns
    ``(pid, read end of its pipe)``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write)
        return pid, read
    os.close(read)  # the forked process: compute, send, exit without cleanup handlers
    status = 0
    try:
        torch.set_num_threads(1)
        outcome = (True, [function(item) for item in items])
    except BaseException as error:  # noqa: BLE001 (sent to the parent, raised there)
        outcome, status = (False, error), 1
    try:
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 (an unpicklable result or error)
            what = 'its result' if outcome[0] else f'its error {outcome[1]!r}'
            failure = RuntimeError(f'A sampling process could not send {what} back: {error!r}')
            data, status = pickle.dumps((False, failure)), 1
        with os.fdopen(write, 'wb') as pipe:
            pipe.write(data)
    finally:
        os._exit(status)


def _collect(pid, pipe):
    """Read a forked process's ``(ok, value)`` and reap it."""
    with os.fdopen(pipe, 'rb') as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    try:
        return pickle.loads(data)
    except Exception as error:  # noqa: BLE001 (no result, or one that does not unpickle)
        return False, RuntimeError(f'A sampling process ended without a readable result '
                                   f'(exit status {status}): {error!r}')
