"""The training loop: AdamW, warm-up and cosine decay, clipping, validation and early stopping.

With ``TrainingConfig.differential_privacy`` the same loop runs DP-SGD through opacus
(``sdv_llm.model.differential_privacy``): one row per example, Poisson batches, a fixed number of epochs
and no validation split (early stopping on held-out rows would make the number of steps
depend on the data).
"""

import copy
import functools
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from sdv_llm.decoding.sampler import attention_implementation
from sdv_llm.decoding.windows import window_loss
from sdv_llm.model import distributed
from sdv_llm.model.precision import compute_dtype, float32_attention

LOGGER = logging.getLogger(__name__)

SMALL_TABLE_ROWS = 2_000
"""Tables fitted on fewer rows than this get the small-table strategies whose parameter is
``'auto'`` (the default of ``mixed_training`` and ``critic_filter``). Chosen on the ``small``
benchmark profile, whose tables have 142 to 1,600 training rows (BENCHMARKS.md, issue 18);
larger tables keep plain training, measured on the ``full`` profile."""


def small_table(num_rows):
    """bool: whether a table of ``num_rows`` training rows is below ``SMALL_TABLE_ROWS``."""
    return num_rows < SMALL_TABLE_ROWS


@dataclass
class TrainingConfig:
    """How the backbone is trained.

    The synthesizer parameters among these have no default here: the front ends resolve them
    (``sdv_llm.parameters.PARAMETERS``, ``TabularLM``'s automatic epochs and batch size).

    Attributes:
        epochs (int): most passes over the training rows.
        batch_size (int): rows per optimisation step.
        learning_rate (float): peak AdamW learning rate, reached after a linear warm-up over the
            first 5 % of steps and followed by cosine decay to 10 % of it.
        validation_fraction (float): share of rows held out for early stopping (0 disables).
        patience (int): epochs without validation improvement before stopping.
        verbose (bool): show a tqdm progress bar.
        weight_decay (float): AdamW weight decay. Default 0.01.
        max_grad_norm (float): gradient clipping norm. Default 1.0 (under differential
            privacy the per-example norm ``differential_privacy['max_grad_norm']`` is used).
        differential_privacy (dict or None): DP-SGD settings (``sdv_llm.model.differential_privacy.settings``:
            ``epsilon``, ``delta``, ``max_grad_norm``, ``accountant``), or None for ordinary
            training. Default None.
    """

    epochs: int
    batch_size: int
    learning_rate: float
    validation_fraction: float
    patience: int
    verbose: bool
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    differential_privacy: dict = None
    precision: str = 'auto'


def constrained_loss(logits, targets, allowed):
    """Cross entropy of the targets among the tokens the automaton allows.

    Logits of tokens the grammar forbids are set to ``-inf`` before the softmax, so the model
    spends no capacity on the grammar and its probabilities are those the sampler uses.

    Args:
        logits (torch.Tensor): float ``(batch, length, vocab)``.
        targets (torch.Tensor): int64 ``(batch, length)``; ``-100`` is ignored.
        allowed (torch.Tensor): bool ``(batch, length, vocab)``.

    Returns:
        torch.Tensor: the mean loss over non-ignored targets, a scalar.
    """
    logits = logits.float().masked_fill(~allowed, float('-inf'))
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
    )


def row_mean_loss(logits, targets, allowed):
    """The constrained cross entropy averaged within each row, then over rows.

    The loss of differentially private training: each row's loss depends on that row alone
    (its own learned tokens), so the per-example gradients opacus clips are those of single
    rows. (``constrained_loss`` averages over all tokens of the batch, which mixes the rows.)

    Args:
        logits (torch.Tensor): float ``(batch, length, vocab)``.
        targets (torch.Tensor): int64 ``(batch, length)``; ``-100`` is ignored.
        allowed (torch.Tensor): bool ``(batch, length, vocab)``.

    Returns:
        torch.Tensor: a scalar: the mean over rows of each row's mean loss over its learned
        targets (a row without any contributes 0).
    """
    logits = logits.float().masked_fill(~allowed, float('-inf'))
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100,
        reduction='none').reshape(targets.shape)
    learned = (targets != -100).to(losses.dtype)
    per_row = (losses * learned).sum(dim=1) / learned.sum(dim=1).clamp_min(1.0)
    return per_row.mean()


def merge_positions(inputs, targets, columns, states, labels, merged, pad):
    """Token-level training tensors -> position-level, second tokens sharing a position.

    A target token whose state is merged (``TokenAutomaton.merged``: a binned number's
    sub-bin token) takes no position of its own: the input position of its first token also
    gets it as an extra input (its embedding is added), and the position that predicts the
    first token predicts it too, through ``TabularDecoder.sub_hidden``.

    Args:
        inputs, targets (torch.Tensor): int64 ``(n, length)``: the tokens fed and the tokens
            that follow them (``ids[:, :-1]``, ``ids[:, 1:]``).
        columns, states, labels (torch.Tensor): int64 ``(n, length)`` of each target: its
            column, the automaton state reading it, its label (``-100`` when not learned).
        merged (torch.Tensor): bool ``(n, length)``: the target shares the position of the
            target before it.
        pad (int): the padding token.

    Returns:
        tuple: int64 ``(n, positions)`` tensors ``(inputs, extras, columns, states, labels,
        firsts, sub_states, sub_labels)``: the first input token of each position and its
        merged second token (``-1`` for none); of the position's first target, its column,
        state and label and its token (``firsts``, read by the sub layer); of its merged
        second target, the state and label (``-100`` for none).
    """
    keep = ~merged
    group = keep.cumsum(dim=1) - 1
    positions = max(1, int(keep.sum(dim=1).max()))
    size = (len(targets), positions)
    firsts = torch.full(size, pad, dtype=torch.int64)
    seconds = torch.full(size, -1, dtype=torch.int64)
    first_columns = torch.zeros(size, dtype=torch.int64)
    first_states, sub_states = (torch.zeros(size, dtype=torch.int64) for _ in range(2))
    first_labels, sub_labels = (torch.full(size, -100, dtype=torch.int64) for _ in range(2))
    rows, cols = torch.nonzero(keep, as_tuple=True)
    at = (rows, group[rows, cols])
    firsts[at] = targets[rows, cols]
    first_columns[at] = columns[rows, cols]
    first_states[at] = states[rows, cols]
    first_labels[at] = labels[rows, cols]
    rows, cols = torch.nonzero(merged, as_tuple=True)
    at = (rows, group[rows, cols])
    seconds[at] = targets[rows, cols]
    sub_states[at] = states[rows, cols]
    sub_labels[at] = labels[rows, cols]
    fed = torch.cat([inputs[:, :1], firsts[:, :-1]], dim=1)
    extras = torch.cat([torch.full((len(inputs), 1), -1, dtype=torch.int64), seconds[:, :-1]],
                       dim=1)
    return fed, extras, first_columns, first_states, first_labels, firsts, sub_states, \
        sub_labels


def mixed_precision(device, precision='auto'):
    """The autocast dtype of training on ``device`` (``sdv_llm.model.precision``): bf16 on
    CUDA where supported, else fp16 (with a gradient scaler); bf16 on CPUs with native bf16
    products; none elsewhere or with ``precision='float32'``.

    Args:
        device (torch.device)
        precision (str): ``'auto'``, ``'float32'`` or ``'bfloat16'``.

    Returns:
        torch.dtype or None
    """
    return compute_dtype(device, precision)


def warmup_cosine(step, warmup, total):
    """The learning-rate factor of optimisation step ``step`` (from 0): a linear warm-up to 1
    over ``warmup`` steps, then a half cosine down to 0.1 at ``total`` steps.

    transformers' schedules are not used because none gives these rates (checked in
    tests/model/test_training.py): ``get_cosine_with_min_lr_schedule_with_warmup(...,
    min_lr_rate=0.1)`` has the same decay but warms up from 0 (``step / warmup``: the first
    step would not train), and ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate`` warms
    up as here but decays one step ahead (``step - warmup + 1``). Changing either would change
    every trained model.

    Args:
        step (int): optimisation steps taken.
        warmup (int): warm-up steps (at least 1).
        total (int): all steps.

    Returns:
        float: the factor of the peak learning rate.
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _batches(count, batch_size, generator=None):
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(
        count
    )
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def auto_epochs(num_rows):
    """Default epochs of the embedded decoder: about 300,000 row presentations, between 8
    and 200 epochs (``EmbeddedBackbone.default_epochs`` raises a one-layer decoder's to 16)."""
    return int(min(200, max(8, round(300_000 / max(1, num_rows)))))


def validation_split(num_rows, fraction, generator):
    """The rows held out for early stopping and the rows trained on.

    Args:
        num_rows (int): rows.
        fraction (float): share held out (none below 20 rows).
        generator (torch.Generator): the training generator (``train_backbone`` draws the
            split first from a generator seeded with its ``seed``, so a generator seeded alike
            gives the same split).

    Returns:
        tuple: int64 tensors ``(valid_index, train_index)``.
    """
    n_valid = round(num_rows * fraction) if num_rows >= 20 else 0
    permutation = torch.randperm(num_rows, generator=generator)
    return permutation[:n_valid], permutation[n_valid:]


def train_backbone(model, encode_rows, num_rows, automaton, config, device, *args, **kwargs):
    """Train ``model`` on serialized rows with the constrained loss (see ``_train``).

    On a CPU, reduced precision (``config.precision``) applies to the embedded decoder only:
    it trains under bf16 autocast with its attention in float32 (``float32_attention``);
    other backbones train in float32 there.
    """
    amp_dtype = _amp_dtype(model, config, device)
    if amp_dtype is None or device.type != 'cpu':
        return _train(model, encode_rows, num_rows, automaton, config, device, amp_dtype,
                      *args, **kwargs)
    with attention_implementation(model, float32_attention()):
        return _train(model, encode_rows, num_rows, automaton, config, device, amp_dtype,
                      *args, **kwargs)


def _amp_dtype(model, config, device):
    """The autocast dtype of this run: none under differential privacy (opacus computes
    per-example gradients in float32) and for pretrained backbones on a CPU."""
    if config.differential_privacy:
        return None
    if device.type == 'cpu' and not getattr(model, 'windowed', False):
        return None
    return mixed_precision(device, config.precision)


def _train(model, encode_rows, num_rows, automaton, config, device, amp_dtype, seed=0, prompt_length=1, checkpoint=None, privacy_report=None, monitor=None):
    """Train ``model`` on serialized rows with the constrained loss.

    The rows are serialized anew for every epoch by ``encode_rows``, so each epoch can present
    each row in a new column order (random permutations, conditioned columns first).

    Args:
        model (TabularDecoder): the decoder, on ``device``.
        encode_rows (callable): ``encode_rows(index, rng) ->
            sdv_llm.serialization.base.EncodedRows`` for the rows ``index`` (int64 array):
            int64 ``(len(index), length)`` token ids starting with ``<bos>``, with the same
            ``length`` on every call; ``context`` (int ``(len(index),)`` tokens after
            ``<bos>`` that are given, not learned: a parent row before its children; left out
            of the loss) or ``None``; and the model's next-column input of each token after
            ``<bos>`` (``ids[:, 1:]``). ``rng`` is a ``numpy.random.Generator`` for the
            column orders (``Serializer.row_encoder``).
        num_rows (int): training rows.
        automaton (TokenAutomaton): the row grammar, on ``device``.
        config (TrainingConfig): epochs, batch size and optimiser settings.
        device (torch.device): where to train.
        amp_dtype (torch.dtype or None): the autocast dtype (``_amp_dtype``).
            Under ``accelerate launch`` with several processes, the model is trained
            data-parallel (DDP), each process on its share of every batch
            (``sdv_llm.model.distributed``); ``seed`` must then be the same in every process.
        seed (int): seeds the split, the shuffling, the column orders and dropout.
        prompt_length (int): tokens every sequence starts with (``<bos>`` and a text prefix);
            they are context, never learned.
        checkpoint (sdv_llm.model.checkpoint.TrainingCheckpoint or None): written after every
            epoch (main process only); when it holds a checkpoint of the same run (same
            rows, settings, seed and model shape) training continues after its epoch, with
            every random stream restored, so the result equals an uninterrupted run.
        privacy_report (dict or None): with ``config.differential_privacy``, filled with
            what the run spent (``PrivateTraining.report``: epsilon from opacus's accountant,
            delta, noise multiplier, clipping norm, sample rate, steps).
        monitor (sdv_llm.model.privacy.DCRStopping or None): called after every epoch's
            validation (``after_epoch``; it may stop training) and at the end
            (``state_to_restore``: the weights to end with). Its checks are not part of a
            checkpoint: a resumed fit checks again from the epoch it resumes at.

    Under ``config.differential_privacy`` (DP-SGD, Abadi et al. 2016, through opacus): every
    row is one example, batches are Poisson samples of rows (an empty one is a noise-only
    step), the loss is ``row_mean_loss`` over the full vocabulary's logits (the token windows
    use the output layer outside any module, where opacus computes no per-example
    gradient), there is no validation split nor early stopping, and training runs in float32
    on one process without checkpoints. The noise and the batches are drawn from fresh
    entropy, not from ``seed``.

    Returns:
        pandas.DataFrame: one row per epoch: ``Epoch``, ``Step``, ``Loss`` (mean training loss)
        and ``Validation Loss`` (NaN without a validation split), ``Seconds``; under
        differential privacy ``Loss`` is NaN (the mean loss of the rows is not private: it is
        logged, not returned) and ``Epsilon`` is the epsilon spent after the epoch.

    Raises:
        ValueError: differential privacy with several processes, a checkpoint or merged
            sub-tokens; a budget opacus cannot meet.
    """
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    # Positions with one allowed token (and padding) teach nothing: leave them out of the loss.
    choices = automaton.transitions.num_allowed().cpu()
    # Second tokens of a value share their first token's position (TabularDecoder.sub_tokens).
    merging = getattr(model, 'sub_tokens', False)

    def prepare(index):
        encoded, context, columns = encode_rows(np.asarray(index), rng)
        data = torch.as_tensor(encoded, dtype=torch.int64)
        inputs, targets = data[:, :-1], data[:, 1:]
        columns = torch.as_tensor(columns, dtype=torch.int64)
        skip = prompt_length - 1
        on = automaton.transitions.device
        states = automaton.states_along(targets[:, skip:].to(on), columns[:, skip:].to(on)).cpu()
        states = torch.cat([torch.full((len(states), skip), automaton.done), states], dim=1)
        learned = (choices[states] > 1) & (targets != automaton.pad)
        if context is not None:
            positions = torch.arange(targets.shape[1])[None, :]
            learned &= positions >= torch.as_tensor(context, dtype=torch.int64)[:, None]
        labels = torch.where(learned, targets, torch.full_like(targets, -100))
        if merging:
            return merge_positions(inputs, targets, columns, states, labels,
                                   automaton.merged.cpu()[states], automaton.pad)
        return inputs, columns, states, labels

    dp = config.differential_privacy
    if dp and merging:
        raise ValueError('Differential privacy does not support merged sub-tokens.')
    valid_idx, train_idx = validation_split(
        num_rows, 0.0 if dp else config.validation_fraction, generator)
    n_valid = len(valid_idx)
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    total_steps = max(1, steps_per_epoch * config.epochs)
    warmup = max(1, int(0.05 * total_steps))

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay, betas=(0.9, 0.98))

    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, functools.partial(warmup_cosine, warmup=warmup, total=total_steps))
    use_amp = amp_dtype is not None
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    validation = prepare(valid_idx) if n_valid else None

    processes = distributed.process_state().num_processes
    private = None
    if dp:
        if processes > 1:
            raise ValueError('Differential privacy trains on one process; run without '
                             'accelerate launch.')
        if checkpoint is not None:
            raise ValueError('Differential privacy does not support checkpoint_dir (the '
                             "accountant's state is not checkpointed).")
        from sdv_llm.model.differential_privacy import PrivateTraining

        private = PrivateTraining(model, optimizer, len(train_idx), config.batch_size,
                                  config.epochs, dp, device)
        optimizer, trained = private.optimizer, private.module
    else:
        # Under ``accelerate launch``: DDP, and each process takes its share of every batch.
        trained = distributed.wrap(model, device)

    # The compact decoder's logits are computed over each position's token window only.
    table = automaton.window_table() if getattr(model, 'windowed', False) and not dp else None

    def private_loss(prepared, index, network):
        """``row_mean_loss`` of the rows ``index``, positions given (opacus needs per-row
        inputs of every embedding)."""
        inputs, columns, states, labels = (tensor[index].to(device) for tensor in prepared)
        positions = torch.arange(inputs.shape[1], device=device).expand(len(inputs), -1)
        logits = network(input_ids=inputs, next_columns=columns, position_ids=positions).logits
        return row_mean_loss(logits, labels, automaton.transitions.allowed(states))

    def batch_loss(prepared, index, network=trained):
        if dp:
            return private_loss(prepared, index, network)
        if merging:
            (inputs, extras, columns, states, labels, firsts, sub_states,
             sub_labels) = (tensor[index].to(device) for tensor in prepared)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                hidden, sub = network(input_ids=inputs, next_columns=columns, extra_ids=extras,
                                      hidden=True, sub_ids=firsts)
            return window_loss(torch.cat([hidden, sub], dim=1),
                               torch.cat([labels, sub_labels], dim=1),
                               torch.cat([states, sub_states], dim=1), automaton, table,
                               model.output_weight())
        inputs, columns, states, labels = (tensor[index].to(device) for tensor in prepared)
        if table is not None:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                hidden = network(input_ids=inputs, next_columns=columns, hidden=True)
            return window_loss(hidden, labels, states, automaton, table, model.output_weight())
        allowed = automaton.transitions.allowed(states)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            logits = network(input_ids=inputs, next_columns=columns).logits
        return constrained_loss(logits, labels, allowed)

    history = []
    best_loss, best_state, stale, step, best_epoch = math.inf, None, 0, 0, None
    first_epoch, stopped, elapsed = 0, False, 0.0
    fingerprint = {
        'num_rows': int(num_rows), 'seed': int(seed), 'processes': int(processes),
        'training': {k: v for k, v in vars(config).items() if k != 'verbose'},
        'parameters': [[name, list(p.shape)] for name, p in model.named_parameters()],
    }
    if checkpoint is not None:
        saved = checkpoint.load(fingerprint, model, optimizer, scheduler, scaler, generator,
                                rng)
        if saved is not None:
            history, step = saved['history'], saved['step']
            best_loss = math.inf if saved['best_loss'] is None else saved['best_loss']
            best_state, stale, stopped = saved['best_state'], saved['stale'], saved['stopped']
            first_epoch = saved['epoch'] + 1
            elapsed = history[-1]['Seconds'] if history else 0.0
            LOGGER.info('resuming after epoch %d from %s', saved['epoch'], checkpoint.directory)
    progress = tqdm(total=total_steps, initial=step, desc='Training', unit='step',
                    disable=not config.verbose or not distributed.process_state().is_main_process)
    started = time.perf_counter() - elapsed
    for epoch in range(first_epoch, config.epochs):
        if stopped:
            break
        trained.train()
        losses = []
        epoch_data = prepare(train_idx)
        if private is not None:
            for index in private.batches():
                if len(index):
                    loss = batch_loss(epoch_data, index)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                else:
                    private.empty_step()
                scheduler.step()
                step += 1
                progress.update(1)
        for index in (() if private is not None else
                      _batches(len(train_idx), config.batch_size, generator)):
            if len(index) < processes:  # a share for every process, or none trains on it
                continue
            loss = batch_loss(epoch_data, distributed.shard(index))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            losses.append(loss.item())
            progress.update(1)

        validation_loss = math.nan
        if n_valid:
            model.eval()
            with torch.no_grad():
                total = 0.0
                for index in _batches(n_valid, 4 * config.batch_size):
                    index = distributed.shard(index)
                    if len(index):
                        total += batch_loss(validation, index, model).item() * len(index)
            # Every process decides early stopping on the same (summed) validation loss.
            validation_loss = distributed.total(total, device) / n_valid

        train_loss = distributed.total(np.mean(losses) if losses else math.nan, device) \
            / processes
        history.append({'Epoch': epoch, 'Step': step, 'Loss': train_loss,
                        'Validation Loss': validation_loss,
                        'Seconds': time.perf_counter() - started})
        if private is not None:
            # The loss is a statistic of the rows outside the DP guarantee: shown (progress
            # bar, log) to whoever runs the fit, never stored in the fitted model.
            history[-1]['Loss'] = math.nan
            history[-1]['Epsilon'] = private.epsilon()
        progress.set_postfix(loss=f'{train_loss:.4f}', val=f'{validation_loss:.4f}')
        LOGGER.info('epoch %d loss %.4f validation %.4f', epoch, train_loss, validation_loss)
        if n_valid:
            if validation_loss < best_loss - 1e-4:
                best_loss, stale, best_epoch = validation_loss, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                stopped = stale >= config.patience
        if monitor is not None and monitor.after_epoch(epoch, model, best_state, best_epoch):
            stopped = True
        if checkpoint is not None and distributed.process_state().is_main_process:
            checkpoint.save(epoch, model, optimizer, scheduler, scaler, generator, rng, {
                'history': history, 'step': step, 'stale': stale, 'stopped': stopped,
                'best_loss': None if math.isinf(best_loss) else best_loss, 'seed': int(seed),
                'fingerprint': fingerprint,
            }, best_state)
        if stopped:
            LOGGER.info('early stopping after epoch %d', epoch)
            break

    progress.close()
    if private is not None:
        private.close()
        if privacy_report is not None:
            privacy_report.update(private.report())
    if monitor is not None:
        best_state = monitor.state_to_restore(best_state)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return pd.DataFrame(history)
