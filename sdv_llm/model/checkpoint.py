"""Training checkpoints: everything a killed fit needs to continue as if it had not stopped.

A checkpoint folder holds ``latest.json`` (the name of the newest complete epoch folder) and
that folder, ``epoch-NNNN/``:

* ``state.json``: the epoch, step, loss history, early-stopping state (best validation loss,
  epochs without improvement, whether training stopped), the seed, a fingerprint of the run
  (data size, settings, parameter shapes), the optimizer's hyper-parameters, the scheduler's
  and the gradient scaler's state, numpy's and Python's random states, the sdv_llm version;
* ``model.safetensors``: the weights (only the trainable ones for a pretrained backbone);
* ``best.safetensors``: the weights of the best validation epoch, when there is one;
* ``tensors.safetensors``: the optimizer's moments and the torch random states (CPU, CUDA,
  the shuffling generator).

An epoch folder is written under a temporary name and renamed, then ``latest.json`` is replaced
(``os.replace``), then older folders are deleted: a fit killed at any moment (SIGKILL) leaves
the previous complete checkpoint. Nothing is unpickled when reading.
"""

import json
import os
import random
import shutil
from pathlib import Path

import torch

LATEST = 'latest.json'


class TrainingCheckpoint:
    """The checkpoint folder of one fit.

    Args:
        directory (str or pathlib.Path): created when the first epoch is written.
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def _latest(self):
        path = self.directory / LATEST
        if not path.is_file():
            return None
        with open(path, encoding='utf-8') as handle:
            name = json.load(handle)['epoch_dir']
        if not isinstance(name, str) or '/' in name or '\\' in name or name.startswith('.'):
            raise ValueError(f'{path} names an invalid folder {name!r}.')
        return self.directory / name

    def saved_seed(self):
        """int or None: the seed of the fit that wrote the checkpoint (None without one)."""
        folder = self._latest()
        if folder is None:
            return None
        with open(folder / 'state.json', encoding='utf-8') as handle:
            return json.load(handle)['seed']

    def save(self, epoch, model, optimizer, scheduler, scaler, generator, rng, state,
             best_state=None):
        """Write the checkpoint of a finished epoch (atomically, see the module).

        Args:
            epoch (int): the epoch just finished (0-based).
            model (torch.nn.Module): the model (not a DDP wrapper).
            optimizer, scheduler, scaler: their ``state_dict`` is written.
            generator (torch.Generator): the shuffling generator.
            rng (numpy.random.Generator): the column-order generator.
            state (dict): JSON-able training state (history, step, early stopping, seed,
                fingerprint).
            best_state (dict or None): the best epoch's weights.
        """
        from safetensors.torch import save_file

        self.directory.mkdir(parents=True, exist_ok=True)
        name = f'epoch-{epoch:04d}'
        temporary = self.directory / f'.{name}.tmp'
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        keys = _saved_keys(model)
        save_file(_tensors(model.state_dict(), keys), str(temporary / 'model.safetensors'))
        if best_state is not None:
            save_file(_tensors(best_state, keys), str(temporary / 'best.safetensors'))
        optimizer_state = optimizer.state_dict()
        tensors = {'rng.torch': torch.get_rng_state(), 'rng.generator': generator.get_state()}
        if torch.cuda.is_available():
            for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f'rng.cuda.{index}'] = cuda_state
        moments = {}
        for index, values in optimizer_state['state'].items():
            for key, value in values.items():
                if torch.is_tensor(value):
                    tensors[f'optimizer.{index}.{key}'] = value.detach().cpu().contiguous()
                else:
                    moments.setdefault(str(index), {})[key] = value
        save_file(tensors, str(temporary / 'tensors.safetensors'))
        from sdv_llm.state import to_json_value

        python_state = random.getstate()
        full = {
            **state,
            'epoch': int(epoch),
            'has_best': best_state is not None,
            'optimizer': {'param_groups': to_json_value(optimizer_state['param_groups'], {}),
                          'scalars': to_json_value(moments, {})},
            'scheduler': to_json_value(scheduler.state_dict(), {}),
            'scaler': to_json_value(scaler.state_dict(), {}),
            'numpy_rng': rng.bit_generator.state,
            'python_rng': [python_state[0], list(python_state[1]), python_state[2]],
            'sdv_llm_version': _version(),
        }
        with open(temporary / 'state.json', 'w', encoding='utf-8') as handle:
            json.dump(full, handle)
            handle.flush()
            os.fsync(handle.fileno())
        final = self.directory / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(temporary, final)
        latest = self.directory / f'.{LATEST}.tmp'
        with open(latest, 'w', encoding='utf-8') as handle:
            json.dump({'epoch_dir': name}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(latest, self.directory / LATEST)
        for old in self.directory.glob('epoch-*'):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def load(self, fingerprint, model, optimizer, scheduler, scaler, generator, rng):
        """Restore the newest checkpoint into the given objects, if there is one.

        Args:
            fingerprint (dict): the run's fingerprint; it must equal the saved one.
            model, optimizer, scheduler, scaler, generator, rng: as in ``save``; restored in
                place.

        Returns:
            dict or None: the saved training state (``epoch``, ``history``, ``step``, ...,
            ``best_state``), or None when the folder holds no checkpoint.

        Raises:
            ValueError: the checkpoint was written by another fit (other data or settings);
                the message names the folder and the differing fields.
        """
        from safetensors.torch import load_file

        folder = self._latest()
        if folder is None:
            return None
        with open(folder / 'state.json', encoding='utf-8') as handle:
            state = json.load(handle)
        saved = state.get('fingerprint')
        if saved != _plain(fingerprint):
            differing = sorted(key for key in set(saved or {}) | set(fingerprint)
                               if (saved or {}).get(key) != _plain(fingerprint).get(key))
            raise ValueError(
                f'The checkpoint in {self.directory} was written by another fit (differs in '
                f'{differing}); use another checkpoint_dir or delete it to start over.')
        from sdv_llm.state import from_json_value

        keys = _saved_keys(model)
        weights = load_file(str(folder / 'model.safetensors'))
        _load_weights(model, weights, keys)
        best = None
        if state.get('has_best'):
            best = {k: v.clone() for k, v in model.state_dict().items()}
            best.update(load_file(str(folder / 'best.safetensors')))
        tensors = load_file(str(folder / 'tensors.safetensors'))
        optimizer_state = {'state': {}, 'param_groups': from_json_value(
            state['optimizer']['param_groups'], {})}
        scalars = from_json_value(state['optimizer']['scalars'], {})
        for name, tensor in tensors.items():
            if name.startswith('optimizer.'):
                _, index, key = name.split('.', 2)
                optimizer_state['state'].setdefault(int(index), {})[key] = tensor
        for index, values in scalars.items():
            optimizer_state['state'].setdefault(int(index), {}).update(values)
        optimizer.load_state_dict(optimizer_state)
        scheduler.load_state_dict(from_json_value(state['scheduler'], {}))
        scaler_state = from_json_value(state['scaler'], {})
        if scaler_state:
            scaler.load_state_dict(scaler_state)
        torch.set_rng_state(tensors['rng.torch'])
        generator.set_state(tensors['rng.generator'])
        restore_cuda_rng(tensors, 'rng.cuda.')
        rng.bit_generator.state = state['numpy_rng']
        version, internal, gauss = state['python_rng']
        random.setstate((version, tuple(internal), gauss))
        state['best_state'] = best
        return state


def _saved_keys(model):
    """The state-dict keys a checkpoint holds: all, or the trainable ones when some are frozen
    (a pretrained backbone's weights stay in its directory)."""
    parameters = dict(model.named_parameters())
    if all(p.requires_grad for p in parameters.values()):
        return None
    return {name for name, p in parameters.items() if p.requires_grad}


def _tensors(state_dict, keys):
    """CPU copies (no shared storage, as safetensors needs) of the kept tensors."""
    return {k: v.detach().cpu().clone().contiguous() for k, v in state_dict.items()
            if keys is None or k in keys}


def _load_weights(model, weights, keys):
    if keys is None:
        model.load_state_dict(weights)
    else:
        missing = keys - set(weights)
        if missing:
            raise ValueError(f'The checkpoint lacks the weights {sorted(missing)[:5]}.')
        model.load_state_dict(weights, strict=False)


def _plain(value):
    """``value`` as it reads back from JSON (tuples as lists)."""
    return json.loads(json.dumps(value))


def _version():
    from sdv_llm import version

    return version.__version__


def restore_cuda_rng(tensors, prefix):
    """Set the CUDA random states saved as ``tensors[f'{prefix}{device}']`` (if CUDA is there).

    Args:
        tensors (dict[str, torch.Tensor]): saved tensors.
        prefix (str): the key prefix of the per-device states (e.g. ``'rng.cuda.'``).
    """
    import torch

    if torch.cuda.is_available():
        cuda = [tensors[f'{prefix}{i}'] for i in range(torch.cuda.device_count())
                if f'{prefix}{i}' in tensors]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
