"""Similarity-reward fine-tuning: a short KL-penalised policy-gradient stage after training.

After maximum-likelihood training the decoder is the *policy*: it samples batches of rows
with the constrained sampler (every row valid), each row gets a reward that says how much it
looks like the training rows, and REINFORCE (Williams 1992) raises the log-likelihood of the
rows with more reward than the batch's mean. A KL penalty to a frozen copy of the
maximum-likelihood model, as in RLHF (Ziegler et al. 2019, arXiv 1909.08593), keeps the policy
near it so it cannot collapse onto the few rows the reward likes best:

    r'(x) = r(x) - kl * (log p_theta(x) - log p_ref(x))
    loss  = -mean_x[(r'(x) - mean r') * log p_theta(x)]      (r' held constant)

``log p(x)`` is the sum of the log-probabilities of the tokens the sampler drew for row ``x``
among those the grammar allowed at each step (the automaton of its sampling plan: conditions,
restrictions and exact dependencies included; positions with a single allowed token have
probability 1 and add nothing), so it is the log-probability of the sampled path, at
temperature 1 and without top-p, which is how the stage samples. ``log p_theta - log p_ref``
averaged over the batch estimates ``KL(p_theta || p_ref)``.

Rewards (``reward``):

- ``'critic'`` (default): the logit of a real-vs-synthetic classifier
  (``sdv_llm.model.critic.Critic``: logistic regression on standardized numbers, one-hot
  categories and their products), ``log p(real | x) / p(synthetic | x)``. For a well fitted
  critic it estimates ``log p_data(x) / p_theta(x)``, whose mean over the policy's rows is
  ``-KL(p_theta || p_data)``: raising it moves the policy toward the data as far as the critic's
  features see (means, variances, correlations, their changes with a category). The critic is
  fitted again on fresh rows every ``critic_every`` steps, so the policy cannot keep exploiting
  a stale one; each fit's cross-validated AUC is recorded (0.5: the rows cannot be told apart).
- ``'marginal'``: a statistical-similarity reward of the marginals: per row, the sum over
  columns of ``log(p_real(b) / p_batch(b))``, ``b`` the row's category (or quantile bin of the
  training values, or missing) in that column and ``p_batch`` its share in the sampled batch
  (both smoothed). Its batch mean is minus the sum of the columns' KL divergences between the
  batch's and the training rows' marginals (up to smoothing); it knows nothing of relations
  between columns.

Off by default: in a sanity check (not a benchmark) on scikit-learn's breast-cancer table (569
rows, 31 columns, default model, one seed) neither reward improved SDMetrics' quality scores
(critic reward: column shapes 0.960 -> 0.955, pair trends 0.642 -> 0.639 with the defaults;
with 30 steps of 256 rows, learning rates 1e-3 and 3e-3 raised the reward and lowered column
shapes to 0.937 and 0.870; the critic's AUC stayed near 1 throughout; the marginal reward
moved both scores by less than 0.002), and the stage took
about 7 s of a 12 s fit (5 s without it).

Only the embedded decoder with its compact rows (one position per token) is supported: not
pretrained backbones, merged sub-tokens nor differential privacy (the reward reads the
training rows outside its guarantee).

Source: the project seeds' "similarity-reward fine-tuning" strategy for small tables (the ITMO
thesis on fine-tuning LLMs for tables: a reinforcement stage whose reward is a statistical
similarity of generated batches to the data); REINFORCE with a mean baseline, Williams 1992;
the KL-penalised reward of Ziegler et al. 2019.
"""

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from sdv_llm.decoding.windows import window_logits, window_weights
from sdv_llm.evaluation.columns import as_labels, as_numbers
from sdv_llm.model.critic import MAX_CRITIC_ROWS, Critic, critic_settings
from sdv_llm.model.settings import merged_settings

LOGGER = logging.getLogger(__name__)

DEFAULTS = {'steps': 20, 'batch_rows': 128, 'kl': 0.1, 'learning_rate': 1e-4,
            'critic_every': 10, 'reward': 'critic'}
"""``steps``: policy-gradient updates. ``batch_rows``: rows sampled per update.
``kl``: weight of the KL penalty (``>= 0``). ``learning_rate``: AdamW's (no weight decay).
``critic_every``: updates between fits of the critic (``'critic'`` reward).
``reward``: ``'critic'`` or ``'marginal'``."""

REWARDS = ('critic', 'marginal')
MAX_GRAD_NORM = 1.0
TOKENS_PER_PASS = 65_536
"""Most tokens in one forward pass (a batch of long rows is split; gradients add up)."""
MARGINAL_BINS = 10
"""Quantile bins of a number or datetime column for the ``'marginal'`` reward."""
MARGINAL_SMOOTHING = 0.5
"""Pseudo-count added to every bin of both marginals (``'marginal'`` reward)."""


def reward_settings(value):
    """The fine-tuning settings with defaults filled in, or ``None`` when off.

    Args:
        value (dict or bool or None): ``None``/``False`` = off, ``True`` = the defaults, a dict
            of keys among ``DEFAULTS``.

    Returns:
        dict or None: ``steps`` (int), ``batch_rows`` (int), ``kl`` (float),
        ``learning_rate`` (float), ``critic_every`` (int), ``reward`` (str).

    Raises:
        TypeError: ``value`` is not None, a bool or a dict.
        ValueError: an unknown key or a bad value (``reward_finetuning`` and the key named).
    """
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    merged = merged_settings(value, DEFAULTS, 'reward_finetuning', 'None, a bool or a dict')
    for key in ('steps', 'batch_rows', 'critic_every'):
        count = merged[key]
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f'reward_finetuning[{key!r}] must be a positive integer, not '
                             f'{count!r}.')
        merged[key] = int(count)
    if merged['batch_rows'] < 2:
        raise ValueError("reward_finetuning['batch_rows'] must be at least 2 (the baseline is "
                         'the batch mean).')
    for key, low_open in (('kl', False), ('learning_rate', True)):
        number = merged[key]
        if isinstance(number, bool) or not isinstance(number, (int, float, np.number)) \
                or not math.isfinite(number) or number < 0 or (low_open and number == 0):
            what = 'a positive number' if low_open else 'a non-negative number'
            raise ValueError(f'reward_finetuning[{key!r}] must be {what}, not {number!r}.')
        merged[key] = float(number)
    if merged['reward'] not in REWARDS:
        raise ValueError(f"reward_finetuning['reward'] must be one of {REWARDS}, not "
                         f"{merged['reward']!r}.")
    return merged


# --------------------------------------------------------------- log-likelihood
@dataclass
class Paths:
    """Sampled rows as training tensors: what the decoder read and predicted at each step.

    Attributes:
        inputs (torch.Tensor): int64 ``(n, length)``: ``<bos>`` then the sampled tokens.
        columns (torch.Tensor): int64 ``(n, length)``: the column each position predicts (the
            decoder's next-column input; ``num_columns`` for ``<eos>`` and padding).
        states (torch.Tensor): int64 ``(n, length)``: the automaton state that read each
            sampled token.
        labels (torch.Tensor): int64 ``(n, length)``: the sampled token where the state
            allowed more than one, ``-100`` elsewhere (forced tokens and padding).
        automaton (TokenAutomaton): the plan's automaton (with windows).
        table (torch.Tensor): ``automaton.window_table()``.
    """

    inputs: torch.Tensor
    columns: torch.Tensor
    states: torch.Tensor
    labels: torch.Tensor
    automaton: object
    table: torch.Tensor

    def __len__(self):
        return len(self.inputs)

    def part(self, index):
        """The ``Paths`` of the rows ``index`` (a slice or int64 tensor)."""
        return Paths(self.inputs[index], self.columns[index], self.states[index],
                     self.labels[index], self.automaton, self.table)


@torch.no_grad()
def trace_paths(plan, ids, device):
    """Follow the sampled tokens through their plan's automaton as the sampler did.

    The same walk as ``sdv_llm.decoding.sampler``: each row's columns in its plan's order,
    each column from its plan entry, and the entries a sampled determinant points at
    one-value automata (``plan.dependencies``). Plans without known cells, loops or merged
    sub-tokens (``TabularLM``'s own draws).

    Args:
        plan (SamplingPlan): the plan the rows were sampled with.
        ids (numpy.ndarray): int64 ``(n, length)`` sampled token ids after ``<bos>``
            (``sample_sequences``), padded with ``<pad>``.
        device (torch.device): where the tensors go.

    Returns:
        Paths: trimmed after the last position any row uses.

    Raises:
        ValueError: a plan with forced tokens or a loop, or a token its state does not allow.
    """
    if (plan.forced is not None and plan.forced.shape[1]) or plan.loop is not None:
        raise ValueError('trace_paths follows plans without known cells nor loops.')
    automaton = plan.automaton
    targets = torch.as_tensor(np.asarray(ids), dtype=torch.int64, device=device)
    used = int((targets != automaton.pad).sum(dim=1).max()) if len(targets) else 0
    targets = targets[:, :max(1, used)]
    size, length = targets.shape
    rows = torch.arange(size, device=device)
    entries = torch.as_tensor(plan.entries, device=device).clone()
    order = torch.as_tensor(plan.columns, device=device)
    dependencies = plan.dependencies
    slot_of_column = torch.argsort(order[:, :-1], dim=1)
    first_free = (torch.zeros(size, dtype=torch.int64, device=device)
                  if plan.first_free is None else torch.as_tensor(plan.first_free, device=device))
    transitions = automaton.transitions
    state = torch.full((size,), automaton.hub, dtype=torch.int64, device=device)
    slot = torch.full((size,), -1, dtype=torch.int64, device=device)
    states = torch.empty_like(targets)
    columns = torch.empty_like(targets)
    for step in range(length):
        at_hub = state == automaton.hub
        slot = slot + at_hub
        state = torch.where(at_hub, entries[rows, slot], state)
        states[:, step] = state
        columns[:, step] = order[rows, slot]
        token = targets[:, step]
        after = transitions.step(state, token)
        ended = (state == automaton.done) & (token == automaton.pad)
        if bool(((after < 0) & ~ended).any()):
            raise ValueError('A sampled token is not allowed by its state: the rows do not '
                             'come from this plan.')
        if dependencies is not None:
            dependencies.constrain(step=step, token=token, state=after, rows=rows, slot=slot,
                                   slot_of_column=slot_of_column, first_free=first_free,
                                   entries=entries, columns=order)
        state = torch.where(after < 0, torch.full_like(after, automaton.done), after)
    choices = transitions.num_allowed().to(device)
    learned = (choices[states] > 1) & (targets != automaton.pad)
    labels = torch.where(learned, targets, torch.full_like(targets, -100))
    bos = torch.full((size, 1), automaton.bos, dtype=torch.int64, device=device)
    return Paths(torch.cat([bos, targets[:, :-1]], dim=1), columns, states, labels, automaton,
                 automaton.window_table().to(device))


def sequence_log_probs(model, paths):
    """Per row, the sum of the log-probabilities of its learned tokens (teacher forcing).

    Each token's probability is the decoder's softmax over the tokens its state allows, on
    the state's window of the vocabulary (as ``sdv_llm.decoding.windows.window_loss``, whose
    mean over the learned tokens of a batch is minus the sum of these divided by their
    number). Gradients flow to the model; no autocast (float32).

    Args:
        model (TabularDecoder): the embedded decoder.
        paths (Paths): the rows.

    Returns:
        torch.Tensor: float32 ``(n,)``; 0 for a row without learned tokens.
    """
    hidden = model(input_ids=paths.inputs, next_columns=paths.columns, hidden=True)
    learned = paths.labels >= 0
    total = torch.zeros(len(paths), dtype=torch.float32, device=hidden.device)
    if not bool(learned.any()):
        return total + hidden.sum() * 0.0
    automaton, table = paths.automaton, paths.table
    states = paths.states[learned]
    window = automaton.state_window[states]
    weights = window_weights(model.output_weight(), automaton.windows, table.shape[1])
    logits = window_logits(hidden[learned].float(), window, weights.float())
    logits = logits.masked_fill((table < 0)[states], float('-inf'))
    local = paths.labels[learned] - automaton.windows[window, 0]
    token = torch.log_softmax(logits, dim=-1).gather(1, local[:, None]).squeeze(1)
    return total.index_add(0, torch.nonzero(learned, as_tuple=True)[0], token)


def _rows_per_pass(paths):
    """int: rows of ``paths`` in one forward pass (at most ``TOKENS_PER_PASS`` tokens)."""
    return max(1, TOKENS_PER_PASS // max(1, paths.inputs.shape[1]))


@torch.no_grad()
def batch_log_probs(model, paths):
    """float32 ``(n,)`` ``sequence_log_probs`` without gradients, in passes of bounded size."""
    step = _rows_per_pass(paths)
    return torch.cat([sequence_log_probs(model, paths.part(slice(start, start + step)))
                      for start in range(0, len(paths), step)])


def shaped_rewards(rewards, policy, reference, kl):
    """The KL-penalised reward ``r - kl * (log p_theta - log p_ref)`` of each row.

    Args:
        rewards (torch.Tensor): float ``(n,)`` rewards.
        policy, reference (torch.Tensor): float ``(n,)`` each row's log-likelihood under the
            policy and under the reference (maximum-likelihood) model.
        kl (float): the penalty's weight.

    Returns:
        tuple: float ``(n,)`` shaped rewards, and ``(n,)`` ``log p_theta - log p_ref`` (whose
        mean over rows sampled from the policy estimates ``KL(p_theta || p_ref)``; 0 when the
        two models are the same).
    """
    divergence = policy - reference
    return rewards - kl * divergence, divergence


def policy_gradient_step(model, optimizer, paths, advantages, max_grad_norm=MAX_GRAD_NORM):
    """One REINFORCE update: descend ``-mean(advantage * log p_theta(x))``.

    Args:
        model (TabularDecoder): the policy (its dropout off: ``eval()``).
        optimizer (torch.optim.Optimizer): over the model's parameters.
        paths (Paths): the sampled rows.
        advantages (torch.Tensor): float ``(n,)`` constants (shaped reward minus baseline).
        max_grad_norm (float): gradient clipping norm.

    Returns:
        float: the loss.
    """
    optimizer.zero_grad(set_to_none=True)
    step, count, total = _rows_per_pass(paths), len(paths), 0.0
    for start in range(0, count, step):
        part = slice(start, start + step)
        loss = -(advantages[part] * sequence_log_probs(model, paths.part(part))).sum() / count
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return total


# ---------------------------------------------------------------------- rewards


class MarginalReward:
    """Per-row reward ``sum_c log(p_real(b_c) / p_batch(b_c))`` over the columns ``c``.

    ``b_c`` is the row's bin in column ``c``: its category (as text), or for numbers and
    datetimes its quantile bin of the training values (``MARGINAL_BINS``), or missing. Shares
    are smoothed with ``MARGINAL_SMOOTHING`` pseudo-counts per bin; the batch's shares are
    those of the rows being scored.

    Args:
        real (pandas.DataFrame): training rows.
        sdtypes (dict[str, str]): sdtype by column.
    """

    def __init__(self, real, sdtypes):
        self.sdtypes = dict(sdtypes)
        self.edges, self.real = {}, {}
        for column in real.columns:
            bins = self._bins(column, real[column], fit=True)
            self.real[column] = pd.Series(bins).value_counts()

    def _bins(self, column, values, fit=False):
        """object ``(n,)``: each value's bin label in ``column``."""
        if self.sdtypes.get(column) not in ('numerical', 'datetime'):
            return np.asarray(as_labels(values))
        numbers = as_numbers(values, self.sdtypes[column])
        if fit:
            seen = numbers[np.isfinite(numbers)]
            quantiles = np.quantile(seen, np.linspace(0, 1, MARGINAL_BINS + 1)[1:-1]) \
                if len(seen) else np.zeros(0)
            self.edges[column] = np.unique(quantiles)
        index = np.searchsorted(self.edges[column], numbers, side='right')
        return np.where(np.isnan(numbers), '<NA>', index.astype(str)).astype(object)

    def __call__(self, rows):
        """float ``(len(rows),)``: the rewards of a sampled batch."""
        total = np.zeros(len(rows))
        for column, real_counts in self.real.items():
            bins = self._bins(column, rows[column])
            batch_counts = pd.Series(bins).value_counts()
            labels = real_counts.index.union(batch_counts.index)
            real = real_counts.reindex(labels, fill_value=0) + MARGINAL_SMOOTHING
            batch = batch_counts.reindex(labels, fill_value=0) + MARGINAL_SMOOTHING
            ratio = np.log(real / real.sum()) - np.log(batch / batch.sum())
            total += ratio.reindex(bins).to_numpy(dtype=float)
        return total


class CriticReward:
    """Per-row reward: the logit of a real-vs-synthetic critic, fitted again every
    ``every`` steps on fresh rows of the policy (``sdv_llm.model.critic.Critic``).

    Args:
        real (pandas.DataFrame): training rows (at most ``MAX_CRITIC_ROWS`` are read).
        sdtypes (dict[str, str]): sdtype by column.
        every (int): steps between fits.
        rows (int): sampled rows each fit reads.
        seed (int): seeds the subsample and the critic's folds.
    """

    def __init__(self, real, sdtypes, every, rows, seed):
        rng = np.random.default_rng(seed % 2**32)
        if len(real) > MAX_CRITIC_ROWS:
            real = real.iloc[np.sort(rng.choice(len(real), MAX_CRITIC_ROWS, replace=False))]
        self.real = real.reset_index(drop=True)
        self.sdtypes = dict(sdtypes)
        self.every, self.rows, self.seed = int(every), int(rows), int(seed)
        self.critic = None

    def update(self, step, last, draw):
        """Fit the critic on fresh rows at step 0, every ``every`` steps and at the last.

        Args:
            step (int): the step about to run.
            last (bool): it is the measuring step after the last update.
            draw (callable): ``draw(num_rows) -> (rows, plan, ids)``.

        Returns:
            float: the new critic's cross-validated AUC, or NaN when it was not fitted again.
        """
        if not (step % self.every == 0 or last or self.critic is None):
            return math.nan
        synthetic = draw(self.rows)[0]
        self.critic = Critic.fit(self.real, synthetic, self.sdtypes, critic_settings(True),
                                 self.seed + step)
        return self.critic.report['auc']

    def __call__(self, rows):
        """float ``(len(rows),)``: the rewards of a sampled batch."""
        return self.critic.logits(rows)


def build_reward(settings, real, sdtypes, seed):
    """The reward of ``settings['reward']`` on the training rows ``real``.

    Returns:
        CriticReward or MarginalReward
    """
    if settings['reward'] == 'marginal':
        return MarginalReward(real, sdtypes)
    rows = min(MAX_CRITIC_ROWS, max(len(real), settings['batch_rows']))
    return CriticReward(real, sdtypes, settings['critic_every'], rows, seed)


# ------------------------------------------------------------------------- loop
def finetune(model, draw, reward, settings, device, verbose=False):
    """Fine-tune ``model`` in place by KL-penalised REINFORCE on a similarity reward.

    ``settings['steps']`` updates, each on ``settings['batch_rows']`` freshly sampled rows,
    then one more batch that only measures the result (no update follows it). Dropout is off
    throughout (``model.eval()``): the rows are sampled and scored by the same network. The
    reference is a frozen copy of ``model`` as it comes in.

    Args:
        model (TabularDecoder): the trained decoder, on ``device``.
        draw (callable): ``draw(num_rows) -> (rows, plan, ids)``: ``rows`` a DataFrame of
            sampled rows (raw values), ``plan`` their ``SamplingPlan`` and ``ids`` the sampled
            token ids (``sample_sequences``), drawn by ``model`` at temperature 1. Seeded by
            the caller.
        reward (callable): ``reward(rows) -> float (n,)``; it may have ``update(step, last,
            draw) -> float`` called before each batch (a critic's refit; its AUC, NaN when
            nothing was refitted).
        settings (dict): ``reward_settings``' result.
        device (torch.device): where the model is.
        verbose (bool): a tqdm progress bar.

    Returns:
        pandas.DataFrame: one row per batch (``steps + 1``): ``Step``, ``Reward`` (mean),
        ``KL`` (mean ``log p_theta - log p_ref`` of the batch), ``Shaped Reward`` (mean),
        ``Critic AUC`` (of a critic fitted before the batch, NaN when none was), ``Updated``
        (False for the last, measuring batch) and ``Seconds`` since the start.
    """
    import copy

    reference = copy.deepcopy(model).eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    model.eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings['learning_rate'],
                                  weight_decay=0.0, betas=(0.9, 0.98))
    update = getattr(reward, 'update', None)
    history, started = [], time.perf_counter()
    steps = settings['steps']
    for step in tqdm(range(steps + 1), desc='Reward fine-tuning', unit='step',
                     disable=not verbose):
        last = step == steps
        auc = update(step, last, draw) if update is not None else math.nan
        rows, plan, ids = draw(settings['batch_rows'])
        paths = trace_paths(plan, ids, device)
        rewards = torch.as_tensor(np.asarray(reward(rows), dtype=np.float64),
                                  dtype=torch.float32, device=device)
        policy = batch_log_probs(model, paths)
        shaped, divergence = shaped_rewards(rewards, policy, batch_log_probs(reference, paths),
                                            settings['kl'])
        if not last:
            policy_gradient_step(model, optimizer, paths, shaped - shaped.mean())
        history.append({'Step': step, 'Reward': rewards.mean().item(),
                        'KL': divergence.mean().item(), 'Shaped Reward': shaped.mean().item(),
                        'Critic AUC': auc, 'Updated': not last,
                        'Seconds': time.perf_counter() - started})
        LOGGER.info('reward fine-tuning step %d: reward %.4f, KL %.4f, critic AUC %.3f', step,
                    history[-1]['Reward'], history[-1]['KL'], auc)
    model.eval()
    return pd.DataFrame(history)
