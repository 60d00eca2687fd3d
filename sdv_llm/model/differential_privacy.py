"""Differentially private training: DP-SGD through opacus, one training row per example.

DP-SGD (Abadi et al., 2016, "Deep Learning with Differential Privacy", arXiv 1607.00133)
clips each example's gradient to an L2 norm of at most ``max_grad_norm``, adds Gaussian noise
of standard deviation ``noise_multiplier * max_grad_norm`` to their sum, and samples every
batch by Poisson sampling (each row joins a step's batch with probability ``sample_rate``),
so that a privacy accountant can bound the privacy loss of the whole run. Everything here is
opacus's (Yousefpour et al., 2021, arXiv 2109.12298): ``PrivacyEngine.make_private_with_epsilon``
picks the noise multiplier that spends the target epsilon over the planned steps,
``GradSampleModule`` computes per-example gradients (hooks for ``nn.Linear``,
``nn.Embedding``, ``nn.LayerNorm``; torch.func for other layers with parameters, such as
transformers' ``Conv1D`` inside GPT-2 blocks), ``DPOptimizer`` clips and adds the noise, the
``DPDataLoader`` draws the Poisson batches and the accountant (RDP by default, or PRV)
reports the epsilon spent. No accounting is written here.

The privacy unit is one training sequence: one row of a table (a parent row with its
children for a child table, ``sdv_llm.relational.ChildrenLM``). Every sequence is one
example; its loss is the mean over its own learned tokens, and a batch's loss is the mean over
its sequences, so opacus's per-example gradients are those of each row alone.

The settings a user gives (``differential_privacy={'epsilon': 3.0, ...}``) are checked by
``settings``; their keys and defaults are ``DEFAULTS``.
"""

import math
import numbers

DEFAULTS = {'epsilon': None, 'delta': 1e-5, 'max_grad_norm': 1.0, 'accountant': 'rdp'}
"""Keys of the ``differential_privacy`` parameter and their defaults (``epsilon`` required).

* ``epsilon`` (float > 0): the privacy budget of the whole fit.
* ``delta`` (float in (0, 1)): the probability with which the epsilon bound may fail; it must
  also be below ``1 / rows`` (checked at fit, when the number of rows is known).
* ``max_grad_norm`` (float > 0): the L2 norm each example's gradient is clipped to.
* ``accountant`` (str): opacus's accountant: ``'rdp'`` (Renyi DP, Mironov 2017) or ``'prv'``
  (privacy random variables, Gopi et al. 2021; tighter, so less noise for the same budget).
  opacus's ``'gdp'`` is left out: it is a central-limit approximation, not an upper bound.
"""

ACCOUNTANTS = ('rdp', 'prv')


class PrivacyBudgetError(ValueError):
    """opacus finds no noise multiplier that keeps the run within the budget."""


def settings(value):
    """The DP settings of a ``differential_privacy`` value, defaults filled in.

    Args:
        value (dict): ``{'epsilon': float, 'delta': float, 'max_grad_norm': float,
            'accountant': str}``; only ``epsilon`` is required (``DEFAULTS``).

    Returns:
        dict: every key of ``DEFAULTS``, numbers as ``float``.

    Raises:
        TypeError: not a dict.
        ValueError: an unknown key, ``epsilon`` missing or not a positive finite
            number, ``delta`` outside (0, 1), ``max_grad_norm`` not positive, or an unknown
            accountant; the message names the key and the value.
    """
    if not isinstance(value, dict):
        raise TypeError(f'{value!r} is not a dict of differential privacy settings.')
    unknown = sorted(set(value) - set(DEFAULTS), key=str)
    if unknown:
        raise ValueError(f'unknown keys {unknown}; the keys are {list(DEFAULTS)}.')
    resolved = {**DEFAULTS, **value}

    def positive(key):
        number = resolved[key]
        if not isinstance(number, numbers.Real) or isinstance(number, bool) \
                or not math.isfinite(number) or number <= 0:
            raise ValueError(f"'{key}' must be a positive finite number, not {number!r}.")
        return float(number)

    if resolved['epsilon'] is None:
        raise ValueError("'epsilon' is required (the privacy budget, for example 3.0).")
    resolved['epsilon'] = positive('epsilon')
    resolved['max_grad_norm'] = positive('max_grad_norm')
    delta = resolved['delta']
    if not isinstance(delta, numbers.Real) or isinstance(delta, bool) or not 0 < delta < 1:
        raise ValueError(f"'delta' must be a number in (0, 1), not {delta!r}.")
    resolved['delta'] = float(delta)
    if resolved['accountant'] not in ACCOUNTANTS:
        raise ValueError(f"'accountant' must be one of {ACCOUNTANTS}, not "
                         f"{resolved['accountant']!r}.")
    return resolved


def check_delta(delta, num_rows):
    """Raise unless ``delta < 1 / num_rows``.

    A delta of ``1 / n`` or more admits a mechanism that publishes one row in the clear, so
    it does not protect anyone (Dwork and Roth, 2014, section 2.3).

    Args:
        delta (float): the settings' delta.
        num_rows (int): training sequences (the privacy units).

    Raises:
        ValueError: naming both numbers.
    """
    if num_rows and delta >= 1 / num_rows:
        raise ValueError(f"'delta' = {delta:g} is not below 1 / rows = {1 / num_rows:g} "
                         f'({num_rows} rows): it would allow publishing a row; give a smaller '
                         'delta.')


def unpredictable_generator(device):
    """A ``torch.Generator`` seeded from the operating system's entropy.

    The noise and the Poisson batches of DP-SGD must be unknown to an adversary: a generator
    seeded with ``random_state`` (which a saved synthesizer records) would let anyone who
    knows the other rows re-derive the noise. opacus's ``secure_mode`` (a cryptographic
    generator, torchcsprng) is not used, as opacus's default.

    Args:
        device (torch.device)

    Returns:
        torch.Generator
    """
    import secrets

    import torch

    return torch.Generator(device=device).manual_seed(secrets.randbits(63))


def register_conv1d_grad_sampler():
    """Per-example gradients of transformers' ``Conv1D`` (GPT-2's attention and MLP layers).

    ``Conv1D`` is a linear layer with a transposed weight (``y = x @ W + b``, ``W`` of shape
    ``(in, out)``), so its per-example gradients are ``x_n^T g_n`` and ``sum g_n``, as opacus's
    ``nn.Linear`` sampler computes them. Without it opacus falls back to torch.func for the
    layer, which gives the same gradients (tested) about twice as slowly. Registering twice is
    harmless.
    """
    import torch
    from opacus.grad_sample import register_grad_sampler
    from opacus.grad_sample.grad_sample_module import GradSampleModule
    from transformers.pytorch_utils import Conv1D

    if Conv1D in GradSampleModule.GRAD_SAMPLERS:
        return

    @register_grad_sampler(Conv1D)
    def conv1d_grad_sample(layer, activations, backprops):
        inputs = activations[0]
        samples = {}
        if layer.weight.requires_grad:
            samples[layer.weight] = torch.einsum('n...i,n...j->nij', inputs, backprops)
        if layer.bias is not None and layer.bias.requires_grad:
            samples[layer.bias] = torch.einsum('n...k->nk', backprops)
        return samples


class PrivateTraining:
    """The opacus objects of one DP-SGD run over ``num_rows`` sequences.

    Args:
        model (torch.nn.Module): the decoder (its trainable parameters are trained).
        optimizer (torch.optim.Optimizer): over the model's trainable parameters.
        num_rows (int): training sequences.
        batch_size (int): expected sequences per step (the sample rate is
            ``1 / ceil(num_rows / batch_size)``, about ``batch_size / num_rows``).
        epochs (int): passes; the run takes ``epochs * ceil(num_rows / batch_size)`` steps.
        dp (dict): ``settings(...)``.
        device (torch.device): where the noise is drawn.

    Attributes:
        module (opacus.GradSampleModule): the model, computing per-example gradients.
        optimizer (opacus.optimizers.DPOptimizer): clips, adds noise, records each step.
        engine (opacus.PrivacyEngine): holds the accountant.
        noise_multiplier (float): the noise standard deviation over ``max_grad_norm``.
        sample_rate (float): the Poisson sampling probability of a row per step.
        steps_per_epoch (int)

    Raises:
        PrivacyBudgetError: the budget cannot be met (opacus: "The privacy budget is too
            low"); the message names the settings and what to change.
    """

    def __init__(self, model, optimizer, num_rows, batch_size, epochs, dp, device):
        import torch
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        register_conv1d_grad_sampler()
        self.dp = dp
        self.engine = PrivacyEngine(accountant=dp['accountant'])
        rows = DataLoader(TensorDataset(torch.arange(num_rows)), batch_size=batch_size)
        try:
            self.module, self.optimizer, self.loader = self.engine.make_private_with_epsilon(
                module=model, optimizer=optimizer, data_loader=rows,
                target_epsilon=dp['epsilon'], target_delta=dp['delta'], epochs=epochs,
                max_grad_norm=dp['max_grad_norm'], poisson_sampling=True,
                loss_reduction='mean', noise_generator=unpredictable_generator(device))
        except ValueError as error:
            if 'budget' not in str(error):
                raise
            raise PrivacyBudgetError(
                f"differential_privacy: opacus cannot reach epsilon={dp['epsilon']:g} at "
                f"delta={dp['delta']:g} over {epochs * len(rows)} steps at sample rate "
                f'{1 / len(rows):.3g} ({error}); give a larger epsilon or delta, fewer epochs '
                'or a smaller batch_size.') from error
        # opacus seeds the Poisson sampler only in its secure mode: never from torch's global
        # generator (which random_state seeds).
        self.loader.batch_sampler.generator = unpredictable_generator(torch.device('cpu'))
        self.noise_multiplier = float(self.optimizer.noise_multiplier)
        self.sample_rate = 1 / len(rows)
        self.steps_per_epoch = len(self.loader)
        self.epochs = int(epochs)
        self.expected_batch_size = float(num_rows * self.sample_rate)

    def batches(self):
        """One epoch of Poisson batches.

        Yields:
            torch.Tensor: int64 row indices, possibly none (then call ``empty_step``).
        """
        for (index,) in self.loader:
            yield index.reshape(-1).long()

    def empty_step(self):
        """A step of an empty Poisson batch: noise only, counted by the accountant.

        Skipping the step would make the number of noisy steps depend on whether a row was
        drawn, which the accounting does not allow for.
        """
        import torch

        for p in self.optimizer.params:
            p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def epsilon(self):
        """float: the epsilon spent so far at the settings' delta (the accountant's)."""
        if not len(self.engine.accountant):
            return 0.0
        return float(self.engine.get_epsilon(self.dp['delta']))

    def steps(self):
        """int: noisy steps taken (each Poisson batch is one, empty ones included)."""
        return int(sum(step[2] for step in self.engine.accountant.history))

    def report(self):
        """What the run spent, for ``get_privacy_info`` and the saved model.

        Returns:
            dict: ``epsilon`` (spent, from the accountant), ``target_epsilon``, ``delta``,
            ``noise_multiplier``, ``max_grad_norm``, ``sample_rate``, ``expected_batch_size``,
            ``steps``, ``epochs``, ``accountant``, ``mechanism`` and ``unit`` (words).
        """
        import opacus

        return {
            'epsilon': self.epsilon(),
            'target_epsilon': self.dp['epsilon'],
            'delta': self.dp['delta'],
            'noise_multiplier': self.noise_multiplier,
            'max_grad_norm': self.dp['max_grad_norm'],
            'sample_rate': float(self.sample_rate),
            'expected_batch_size': self.expected_batch_size,
            'steps': self.steps(),
            'epochs': self.epochs,
            'accountant': self.dp['accountant'],
            'mechanism': f'DP-SGD (Abadi et al. 2016), Poisson sampling, opacus '
                         f'{opacus.__version__}',
            'unit': 'one training sequence (a row; a parent with its children for a child '
                    'table)',
        }

    def close(self):
        """Remove opacus's hooks and per-example gradients from the model (before sampling
        and saving)."""
        self.module._close()
        for p in self.module._module.parameters():
            for name in ('grad_sample', 'summed_grad', '_current_grad_sample',
                         '_forward_counter'):
                if hasattr(p, name):
                    delattr(p, name)
