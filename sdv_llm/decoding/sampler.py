"""The batched sampler: all rows step together, KV cache, logits masked by the automaton."""

import copy
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from sdv_llm.decoding.windows import window_logits, window_weights
from sdv_llm.decoding.workers import map_batches, sampling_workers
from sdv_llm.serialization.base import holes_last

KV_CACHE_BUDGET = 2**30
"""Most bytes of keys and values one sampling batch may hold: wide tables (long rows) are
sampled in smaller batches rather than running out of memory."""


def cache_batch_size(model, batch_size, capacity, dtype=torch.float32):
    """The batch size under ``KV_CACHE_BUDGET`` for rows of ``capacity`` positions.

    Args:
        model: the decoder (``kv_cache_bytes``, see ``sample_sequences``).
        batch_size (int): the batch size asked for.
        capacity (int): positions per row.
        dtype (torch.dtype): of the cache.

    Returns:
        int: at most ``batch_size``, at least 1.
    """
    per_row = model.kv_cache_bytes(capacity, dtype)
    return max(1, min(int(batch_size), KV_CACHE_BUDGET // max(1, per_row)))


SPLIT_MIN_ROWS = 1_000
"""Fewest rows ``sampling_batches`` splits into two batches when one would hold them all."""


def sampling_batches(num_rows, batch_size):
    """The rows of each sampling batch: equal batches, an even number of them.

    ``ceil(num_rows / batch_size)`` batches, one more where that number is odd (and two for
    ``SPLIT_MIN_ROWS`` rows or more that fit in one), their sizes within one row of each
    other. The batches are dealt to the sampling processes in turn, so two processes (a
    2-core CPU) draw equal shares: with 4,096-row batches, 36,169 rows made 8 full batches and
    one of 3,241, and one process drew 5 batches while the other waited after 4. The layout
    depends on the rows and ``batch_size`` only, never on the number of processes, so the
    drawn rows do not either.

    Args:
        num_rows (int): rows to sample, at least 0.
        batch_size (int): most rows per batch, at least 1.

    Returns:
        list[tuple[int, int]]: ``(first, last)`` row ranges covering ``0..num_rows`` in order.
    """
    count = -(-int(num_rows) // int(batch_size))
    if count % 2 and (count > 1 or num_rows >= SPLIT_MIN_ROWS):
        count += 1
    edges = [num_rows * k // count for k in range(count + 1)] if count else [0]
    return list(pairwise(edges))


REDUCED_PRECISION_MIN_ROWS = 512
"""Fewest rows a CPU samples in reduced precision: for fewer, the cast copy of the weights and
the small bf16 products cost more than they save (iris, 120 rows: 1,480 rows/s in bf16 against
3,467 in float32, same machine)."""


def reduced_copy(model, dtype):
    """A copy of ``model`` for reduced-precision CPU sampling: every weight cast to ``dtype``
    once (CPU autocast would cast them at every step) except the layer norms', which stay in
    float32 as autocast keeps them, so the residual stream and the norms run in float32 and
    only the matrix products and the KV cache in ``dtype`` (``sdv_llm.model.decode_step``;
    float32 norms of a 4,096 x 64 batch took 0.15 ms against 0.24 in bfloat16).

    Args:
        model (torch.nn.Module): the decoder in float32; left unchanged.
        dtype (torch.dtype): ``torch.bfloat16`` or ``torch.float16``.

    Returns:
        torch.nn.Module: the copy.
    """
    reduced = copy.deepcopy(model).to(dtype)
    for module in reduced.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.float()
    return reduced


@contextmanager
def attention_implementation(model, name):
    """Run the ``transformers`` model inside ``model`` with another attention implementation.

    Uses ``PreTrainedModel.set_attn_implementation`` (which checks that the model supports
    ``name`` and switches its sub-models too) and restores the previous implementation on exit.

    Args:
        model (torch.nn.Module): a ``transformers.PreTrainedModel`` or a module holding one
            (``TabularDecoder``, ``PretrainedDecoder`` around a peft model); a model
            without ``modules()`` is left as it is.
        name (str): ``'eager'``, ``'sdpa'``, ...

    Yields:
        None
    """
    from transformers import PreTrainedModel

    modules = model.modules() if hasattr(model, 'modules') else ()
    lm = next((m for m in modules if isinstance(m, PreTrainedModel)), None)
    if lm is None:
        yield
        return
    previous = lm.config._attn_implementation
    lm.set_attn_implementation(name)
    try:
        yield
    finally:
        lm.set_attn_implementation(previous)


def _top_p_filter(logits, top_p):
    """Set to ``-inf`` the logits outside the smallest set whose probability reaches ``top_p``.

    The one top-p of the package (``_choose``: the compact and text paths, children
    sequences). It keeps the tokens ``transformers.TopPLogitsWarper`` keeps except among
    equally likely tokens, where the warper keeps the last ones in vocabulary order and this
    the first (tests/decoding/test_sampler.py); it is kept so that seeds draw the same rows.
    """
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    remove = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p
    remove[:, 0] = False
    mask = torch.zeros_like(remove).scatter(1, order, remove)
    return logits.masked_fill(mask, float('-inf'))


def _draw(probs, allowed, generator):
    """One token per row from ``probs`` by inverse-CDF sampling.

    ``torch.multinomial`` draws an exponential variate for every (row, token) and was the
    slowest step of CPU sampling; one uniform variate per row and a ``searchsorted`` over the
    cumulative probabilities draw from the same distribution. Rounding can in principle land on
    a token of zero probability; such rows take their most likely token instead.

    Args:
        probs (torch.Tensor): float ``(batch, vocab)``, rows sum to 1, zero where not allowed.
        allowed (torch.Tensor): bool ``(batch, vocab)``.
        generator (torch.Generator): random source on ``probs.device``.

    Returns:
        torch.Tensor: int64 ``(batch,)`` token ids, each allowed.
    """
    cdf = probs.cumsum(dim=-1)
    uniform = torch.rand((probs.shape[0], 1), generator=generator, device=probs.device)
    target = (uniform * cdf[:, -1:]).clamp_min(torch.finfo(cdf.dtype).tiny)
    token = torch.searchsorted(cdf, target).squeeze(1).clamp_max(probs.shape[1] - 1)
    valid = allowed.gather(1, token[:, None]).squeeze(1)
    if bool(valid.all()):
        return token
    return torch.where(valid, token, probs.argmax(dim=-1))


class FullVocabulary:
    """Logits over the whole vocabulary, masked by the automaton (text serializations).

    Args:
        model: a decoder called as ``model(input_ids, next_columns, past_key_values, ...)``.
        automaton (TokenAutomaton): the plan's grammar.
    """

    merges = False
    """Whether second tokens share their first token's position (never here)."""

    def __init__(self, model, automaton):
        self.model = model
        self.transitions = automaton.transitions

    def step(self, tokens, next_column, past, state, extra=None):
        """One decoder step.

        Args:
            tokens (torch.Tensor): int64 ``(batch, length)`` new input tokens.
            next_column (torch.Tensor): int64 ``(batch, length)``.
            past (transformers.Cache): the KV cache.
            state (torch.Tensor): int64 ``(batch,)`` automaton states.
            extra (torch.Tensor or None): int64 ``(batch, length)`` merged second tokens
                (``TokenWindows`` only; ``None`` here).

        Returns:
            tuple: float ``(batch, vocab_size)`` logits, bool ``(batch, vocab_size)`` allowed
            tokens, int64 ``(batch,)`` the token id of choice 0 of each row (0 here) and the
            cache.
        """
        out = self.model(input_ids=tokens, next_columns=next_column, past_key_values=past,
                         use_cache=True, logits_to_keep=1)
        offset = torch.zeros(len(state), dtype=torch.int64, device=state.device)
        return out.logits[:, -1, :].float(), self.transitions.allowed(state), offset, \
            out.past_key_values

    def cache(self, batch, capacity):
        """An empty ``transformers`` KV cache for ``batch`` rows of ``capacity`` positions
        (the model's ``__call__`` reads it; ``full_cache``)."""
        return self.model.full_cache(capacity)


class TokenWindows:
    """Logits, mask and draw over each row's token window only (``sdv_llm.decoding.windows``):
    the output layer, the mask and the draw cost the window's width (a few hundred tokens)
    instead of the vocabulary's.

    Args:
        model (TabularDecoder): provides ``step_cache``, ``last_hidden`` and
            ``output_weight``.
        automaton (TokenAutomaton): with windows.
        table (torch.Tensor): ``automaton.window_table()`` on the sampling device.
        cache_dtype (torch.dtype or None): dtype of the KV cache (the autocast dtype);
            ``None`` for the model's.
        output_weight (torch.Tensor or None): float ``(vocab_size, dim)`` output layer to
            compute logits with (the float32 weights when ``model`` is a reduced-precision
            copy); ``None`` for ``model``'s.
    """

    def __init__(self, model, automaton, table, cache_dtype=None, output_weight=None):
        self.model = model
        self.table = table
        self.cache_dtype = cache_dtype
        self.state_window = automaton.state_window.to(table.device)
        windows = automaton.windows.to(table.device)
        weight = model.output_weight() if output_weight is None else output_weight
        self.weights = window_weights(weight.detach(), windows, table.shape[1])
        self.start = windows[:, 0]
        self.allowed = table >= 0  # bool (num_states, width), gathered at every step
        # A step computes its logits, mask and draw over the widest window its rows read, not
        # the widest of the table (a column of 2 values beside one of 165 bins), never
        # narrower than the special tokens' window (the sampler reads <eos> and a loop's
        # token by their ids at every step).
        specials = windows[:, 0] == 0
        self.floor = int(windows[specials, 1].max()) if bool(specials.any()) else 1
        self.widths = (windows[:, 1] - windows[:, 0]).clamp(min=self.floor, max=table.shape[1])
        self.merges = bool(getattr(model, 'sub_tokens', False)) and automaton.merged is not None
        self.merged = automaton.merged.to(table.device) if self.merges else None
        self.hidden = None

    def step(self, tokens, next_column, past, state, extra=None):
        """One decoder step; see ``FullVocabulary.step`` (logits and mask over ``width``).
        The final hidden state is kept in ``hidden`` for ``sub_step``."""
        hidden, past = self.model.last_hidden(tokens, next_column, past, extra)
        self.hidden = hidden
        return self._window(hidden, state) + (past,)

    def sub_step(self, rows, first, state):
        """The logits of merged second tokens, from the last step's hidden state.

        Args:
            rows (torch.Tensor): int64 ``(k,)`` rows of the batch whose state is merged.
            first (torch.Tensor): int64 ``(k,)`` their first tokens.
            state (torch.Tensor): int64 ``(k,)`` their states (merged).

        Returns:
            tuple: logits ``(k, width)``, allowed ``(k, width)``, token id offsets ``(k,)``.
        """
        return self._window(self.model.sub_hidden(self.hidden[rows], first), state)

    def _window(self, hidden, state):
        window = self.state_window[state]
        if not torch.is_autocast_enabled(hidden.device.type):
            hidden = hidden.to(self.weights.dtype)  # a reduced-precision copy's state
        width = int(self.widths[window].max()) if len(window) else self.floor
        logits = window_logits(hidden, window, self.weights[:, :width])  # float32
        return logits, self.allowed[:, :width][state], self.start[window]

    def cache(self, batch, capacity):
        """An empty KV cache for ``batch`` rows of ``capacity`` positions."""
        return self.model.step_cache(batch, capacity, self.cache_dtype)


def _choose(logits, allowed, offset, temperature, top_p, generator):
    """Mask, temperature, top-p and one draw per row; returns token ids (``offset`` added)."""
    logits = logits.masked_fill(~allowed, float('-inf'))
    if temperature != 1.0:
        logits = logits / temperature
    if top_p < 1.0:
        logits = _top_p_filter(logits, top_p)
    return _draw(torch.softmax(logits, dim=-1), allowed, generator) + offset


def _forced(forced, written, token):
    """The forced token of each row at its token index ``written``, where there is one."""
    if forced is None:
        return token
    inside = written < forced.shape[1]
    wanted = forced.gather(1, written.clamp_max(forced.shape[1] - 1)[:, None]).squeeze(1)
    return torch.where(inside & (wanted >= 0), wanted, token)


def _interleave(steps, seconds, size):
    """Per step, its token and (where a value's second token shared the step) that token."""
    columns = []
    for token, second in zip(steps, seconds):
        columns.append(token[:, None].cpu().numpy())
        if second is not None:
            columns.append(second.cpu().numpy())
    return columns or [np.zeros((size, 0), dtype=np.int64)]


@dataclass
class Loop:
    """Several rows in one sequence: a token after a row's last column starts another row.

    Used for the children of a parent row (``sdv_llm.relational``): ``<bos>``, the parent's
    context columns, then ``<row>`` and a child row ``counts[i]`` times, then ``<eos>``.

    Attributes:
        token (int): the token that starts another row (read at ``automaton.end``, which must
            lead it to ``hub``; see ``TokenAutomaton.compile(repeat_token=...)``).
        slot (int): the plan slot the sequence returns to on ``token``: the slot of the
            ``end`` entry before the first repeated column, so that ``hub`` moves to the next.
        counts (numpy.ndarray): int64 ``(rows,)`` repeated rows of each sequence: at ``end``,
            ``<eos>`` is masked until a sequence has that many rows and ``token`` from then on,
            so each sequence holds exactly its count.
    """

    token: int
    slot: int
    counts: np.ndarray


@dataclass
class SamplingPlan:
    """What each sampled row looks like before the model chooses: column order and fixed tokens.

    Attributes:
        entries (numpy.ndarray): int64 ``(rows, num_columns + 1)``: for each row, the automaton
            state each column starts in, in the row's generation order (a column's own start
            state, or the start of a restricted value automaton for a condition), then
            ``automaton.end``.
        columns (numpy.ndarray): int64 ``(rows, num_columns + 1)``: the column index (into
            ``schema.order``) generated in each slot, then ``num_columns``.
        forced (numpy.ndarray or None): int64 ``(rows, prefix_length)``: tokens written instead
            of sampled at the first steps of each row (the values of conditioned columns), ``-1``
            where the model samples.
        automaton (TokenAutomaton): the grammar the entries refer to.
        first_free (numpy.ndarray or None): int64 ``(rows,)``: the first slot of each row that
            no condition constrains (dependencies only constrain slots from there on).
        dependencies (DependencyTable or None): exact functional dependencies to enforce.
        loop (Loop or None): several rows per sequence; ``None`` for one row.
        prompt (numpy.ndarray or None): int64 ``(prompt_length,)`` tokens every row starts
            with (``<bos>`` and a text serialization's prefix); ``None`` is ``<bos>`` alone.
    """

    entries: np.ndarray
    columns: np.ndarray
    forced: object
    automaton: object
    first_free: object = None
    dependencies: object = None
    loop: object = None
    prompt: object = None

    def __len__(self):
        return len(self.entries)


@torch.no_grad()
def sample_sequences(model, plan, batch_size, device, generator, temperature=1.0, top_p=1.0,
                     max_length=None, amp_dtype=None, workers=None, finish=None):
    """Sample one row of token ids per row of ``plan``, every one a path of its automaton.

    Each step runs the model on the newest token of every row of the batch, reusing the KV
    cache, masks the logits with ``automaton.transitions.allowed(state)`` on ``device``,
    applies temperature and top-p, draws one token per row (or writes the row's forced token)
    and advances the states; a row whose value is complete moves to the next column of its own
    order. No Python loop over rows and nothing rejected. Rows that finished emit ``<pad>``
    until the batch is done; the forced ``<eos>`` after the last column is written without
    running the model.
    With ``plan.loop`` each sequence writes exactly its number of repeated rows.

    Args:
        model: the decoder in eval mode on ``device``, as the backbone built it
            (``sdv_llm.model.backbones``): ``windowed`` (bool: logits over token windows
            through ``last_hidden`` and ``output_weight``, else the whole vocabulary through
            ``__call__``), ``max_positions`` (int), ``kv_cache_bytes(capacity, dtype)`` and
            the cache of its steps: ``step_cache(batch, capacity, dtype)`` when windowed,
            else ``full_cache(capacity)`` (a ``transformers`` cache).
        plan (SamplingPlan): column order, forced tokens and automaton of every row.
        batch_size (int): rows decoded together (fewer where their KV cache would pass
            ``KV_CACHE_BUDGET``).
        device (torch.device): where to run.
        generator (torch.Generator): random source on ``device``.
        temperature (float): divides the logits; 1.0 samples the learned distribution.
        top_p (float): nucleus sampling mass; 1.0 disables it.
        max_length (int or None): most tokens after ``<bos>``; defaults to the model's positions.
        amp_dtype (torch.dtype or None): the decoder's dtype (``sdv_llm.model.precision``): on CUDA
            it runs under autocast in it (as in training); on a CPU the embedded decoder's
            weights are cast to it once and other backbones run in float32. The KV cache is
            kept in it too. ``None`` for float32. A CPU samples fewer than
            ``REDUCED_PRECISION_MIN_ROWS`` rows in float32.
        workers (int or None): most processes drawing batches side by side on a CPU
            (``sdv_llm.decoding.workers.sampling_workers``; ``None``: PyTorch's thread count),
            fewer where their KV caches together would pass ``KV_CACHE_BUDGET``.
        finish (callable or None): ``finish(first, last, ids)`` on each batch's int64 token
            ids (plan rows ``first`` to ``last``), in the process that drew the batch, so
            that decoding runs side by side too; its results come back instead of the ids.

    The rows are split into batches by ``sampling_batches``; each batch draws from its own
    generator, seeded from ``generator`` before the first batch, so the rows are the same
    whatever the number of processes.

    Returns:
        numpy.ndarray: int64 ``(len(plan), max_length)`` token ids after the prompt
        (``<bos>``); with ``finish``, the list of its results in plan order (one call on no
        ids for an empty plan).
    """
    max_length = max_length or model.max_positions - 1
    prompt_length = 1 if plan.prompt is None else len(plan.prompt)
    table = plan.automaton.window_table() if model.windowed else None
    reduced = amp_dtype is not None and device.type == 'cpu'
    if reduced and (table is None or len(plan) < REDUCED_PRECISION_MIN_ROWS):
        # A CPU runs other backbones in float32, and small samples too (casting a copy of the
        # weights costs more than it saves); decided before the KV cache is sized.
        amp_dtype, reduced = None, False
    batch_size = cache_batch_size(model, batch_size, max_length + prompt_length,
                                  amp_dtype or torch.float32)
    if table is None:
        head = FullVocabulary(model, plan.automaton)
    elif reduced:  # weights cast once (CPU autocast would cast them at every step)
        head = TokenWindows(reduced_copy(model, amp_dtype), plan.automaton,
                            table.to(device), amp_dtype, output_weight=model.output_weight())
    else:
        head = TokenWindows(model, plan.automaton, table.to(device), amp_dtype)
    autocast = amp_dtype is not None and not reduced
    bounds = sampling_batches(len(plan), batch_size)
    seeds = torch.randint(0, 2**62, (len(bounds),), generator=generator,
                          device=generator.device).tolist()

    def draw(item):  # runs under this function's no_grad, here or in a forked process
        (start, last), seed = item
        batch_generator = torch.Generator(device=device).manual_seed(seed)
        # One query per step: plain matmul attention beats the fused CPU kernel (measured).
        with attention_implementation(model, 'eager'), \
                torch.autocast(device.type, dtype=amp_dtype, enabled=autocast):
            ids = _sample(model, head, plan, start, last, device, batch_generator, temperature,
                          top_p, max_length)
        return ids if finish is None else finish(start, last, ids)

    # Each process holds one batch's KV cache: together they stay under the budget too.
    cache_bytes = batch_size * model.kv_cache_bytes(max_length + prompt_length,
                                                    amp_dtype or torch.float32)
    workers = min(sampling_workers(device, len(bounds), workers),
                  max(1, KV_CACHE_BUDGET // max(1, cache_bytes)))
    outputs = map_batches(draw, list(zip(bounds, seeds)), workers)
    if finish is not None:
        return outputs or [finish(0, 0, np.zeros((0, max_length), np.int64))]
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, max_length), np.int64)


def _sample(model, head, plan, first, last, device, generator, temperature, top_p, max_length):
    automaton = plan.automaton
    transitions = automaton.transitions
    size = last - first
    rows = torch.arange(size, device=device)
    entries = torch.as_tensor(plan.entries[first:last], device=device).clone()
    columns = torch.as_tensor(plan.columns[first:last], device=device)
    dependencies = plan.dependencies
    if dependencies is not None:
        slot_of_column = torch.argsort(columns[:, :-1], dim=1)
        first_free = torch.zeros(size, dtype=torch.int64, device=device)
        if plan.first_free is not None:
            first_free = torch.as_tensor(plan.first_free[first:last], device=device)
    forced = None
    if plan.forced is not None and plan.forced.shape[1]:
        forced = torch.as_tensor(plan.forced[first:last], device=device)
    prompt = np.array([automaton.bos]) if plan.prompt is None else np.asarray(plan.prompt)
    tokens = torch.as_tensor(prompt, dtype=torch.int64, device=device).repeat(size, 1)
    state = torch.full((size,), automaton.hub, dtype=torch.int64, device=device)
    slot = torch.full((size,), -1, dtype=torch.int64, device=device)
    loop = plan.loop
    count = torch.zeros((size,), dtype=torch.int64, device=device)
    clause_start = torch.zeros((size,), dtype=torch.int64, device=device)  # its first step
    if loop is not None:
        wanted = torch.as_tensor(np.asarray(loop.counts, dtype=np.int64)[first:last],
                                 device=device)
    past = head.cache(size, max_length + len(prompt))
    steps, seconds = [], []  # the token of each step, and a merged second token or -1
    written = torch.zeros((size,), dtype=torch.int64, device=device)  # tokens so far
    extra = None
    for step in range(max_length):
        at_hub = state == automaton.hub
        slot = slot + at_hub
        if dependencies is not None:  # text dependencies read a clause back from its start
            clause_start = torch.where(at_hub, step, clause_start)
        state = torch.where(at_hub, entries[rows, slot], state)
        finished = state == automaton.done
        if loop is None:
            finished |= state == automaton.end
        if bool(finished.all()):
            break  # only <eos> (and then <pad>) can follow: no need to run the model
        next_column = columns[rows, slot][:, None].expand(-1, tokens.shape[1])
        logits, allowed, offset, past = head.step(tokens, next_column, past, state, extra)
        if loop is not None:  # at ``end`` every row reads the special tokens (offset 0)
            at_end = state == automaton.end
            allowed[:, automaton.eos] &= ~(at_end & (count < wanted))
            allowed[:, loop.token] &= ~(at_end & (count >= wanted))
        token = _choose(logits, allowed, offset, temperature, top_p, generator)
        token = _forced(forced, written, token)
        state = transitions.step(state, token)
        written = written + 1
        extra = None
        if head.merges:
            merged = torch.nonzero(head.merged[state]).squeeze(1)
            if len(merged):  # the value's second token, at the same position
                logits, allowed, offset = head.sub_step(merged, token[merged], state[merged])
                second = _choose(logits, allowed, offset, temperature, top_p, generator)
                second = _forced(None if forced is None else forced[merged], written[merged],
                                 second)
                state = state.index_put((merged,), transitions.step(state[merged], second))
                written = written.index_put((merged,), written[merged] + 1)
                extra = torch.full_like(token, -1).index_put((merged,), second)[:, None]
        seconds.append(extra)
        if dependencies is not None:
            dependencies.constrain(step=step, token=token, state=state, rows=rows, slot=slot,
                                   slot_of_column=slot_of_column, first_free=first_free,
                                   entries=entries, columns=columns, steps=steps,
                                   clause_start=clause_start)
        if loop is not None:
            repeated = token == loop.token
            count = count + repeated
            slot = torch.where(repeated, torch.full_like(slot, loop.slot), slot)
        steps.append(token)
        tokens = token[:, None]

    ended = (state == automaton.end).cpu().numpy()
    last = np.where(ended, automaton.eos, automaton.pad)[:, None]
    batch = _interleave(steps, seconds, size) + [last]
    batch = holes_last(np.concatenate(batch, axis=1), automaton.pad)[:, :max_length]
    if batch.shape[1] < max_length:
        pad = np.full((size, max_length - batch.shape[1]), automaton.pad, dtype=np.int64)
        batch = np.concatenate([batch, pad], axis=1)
    return batch
