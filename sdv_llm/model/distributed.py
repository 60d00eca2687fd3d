"""Data-parallel training over the processes that ``accelerate launch`` starts.

Run the same script in every process (``accelerate launch --multi_gpu --num_processes 4
fit.py``, or ``torchrun --nproc_per_node 2 fit.py`` for CPU processes over gloo; accelerate's
own CPU launcher needs MPI): accelerate's ``PartialState`` joins
the process group and gives each process its device (``cuda:<local rank>``); the decoder is
wrapped in ``torch.nn.parallel.DistributedDataParallel`` and each process trains on its
share of every batch (the batches are the same in every process: the seed is broadcast), so
gradients are averaged over all rows of the batch and every process ends with the same
weights. Started without ``accelerate launch`` there is one process and nothing changes.

Mixed precision stays the training loop's own (bf16, else fp16, autocast on CUDA), so a process
can train models on different devices one after another, which one ``Accelerator`` per process
cannot.
"""

import torch
from accelerate import PartialState
from accelerate.utils import broadcast_object_list, reduce


def process_state():
    """accelerate's state of this process: ``num_processes``, ``process_index``, ``device``.

    Without CUDA the processes join over gloo (CPU processes started by torchrun, or by
    ``accelerate launch --cpu`` with MPI).

    Returns:
        accelerate.PartialState: one process unless started by ``accelerate launch``.
    """
    return PartialState(cpu=not torch.cuda.is_available())


def is_distributed():
    """Whether this process is one of several started by ``accelerate launch``."""
    return process_state().num_processes > 1


def training_device(enable_gpu):
    """The device to train on: this process's GPU under ``accelerate launch``, else CUDA when
    ``enable_gpu`` and a GPU is present, else the CPU.

    Returns:
        torch.device
    """
    if enable_gpu and torch.cuda.is_available():
        state = process_state()
        return state.device if state.num_processes > 1 else torch.device('cuda')
    return torch.device('cpu')


def shared_seed(seed):
    """The main process's ``seed`` in every process (the same batches and column orders).

    Args:
        seed (int): this process's seed.

    Returns:
        int
    """
    if not is_distributed():
        return seed
    return int(broadcast_object_list([int(seed)])[0])


def wrap(model, device):
    """``model`` in DistributedDataParallel when there are several processes, else itself.

    Args:
        model (torch.nn.Module): on ``device``.
        device (torch.device): this process's device.

    Returns:
        torch.nn.Module

    Raises:
        ValueError: the processes were launched for another device type than ``device``
            (such as ``enable_gpu=False`` under a multi-GPU launch).
    """
    state = process_state()
    if state.num_processes == 1:
        return model
    if device.type != state.device.type:
        raise ValueError(
            f'The {state.num_processes} processes of accelerate launch use {state.device.type} '
            f'but the model trains on {device.type}: set enable_gpu to match (or launch with '
            '--cpu for CPU processes).')
    device_ids = [device.index] if device.type == 'cuda' else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def shard(index):
    """This process's share of a batch (every ``num_processes``-th row).

    Args:
        index (torch.Tensor): int64 ``(batch,)`` row indices, the same in every process.

    Returns:
        torch.Tensor: int64 ``(ceil((batch - process_index) / num_processes),)``.
    """
    state = process_state()
    return index[state.process_index::state.num_processes] if state.num_processes > 1 \
        else index


def total(value, device):
    """The sum of a number over the processes (itself with one process).

    Args:
        value (float): this process's number.
        device (torch.device): where the collective runs (this process's device).

    Returns:
        float
    """
    if not is_distributed():
        return float(value)
    return float(reduce(torch.tensor([float(value)], device=device), 'sum').item())
