"""The batched sampler: all rows step together, KV cache, logits masked by the automaton."""

import numpy as np
import torch

from sdv_llm.decoding.kv_cache import preallocated_cache
from sdv_llm.serialization.compact import BOS, EOS, PAD


def _top_p_filter(logits, top_p):
    """Set to ``-inf`` the logits outside the smallest set whose probability reaches ``top_p``."""
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


@torch.no_grad()
def sample_sequences(model, automaton, num_rows, batch_size, device, generator,
                     temperature=1.0, top_p=1.0, max_length=None):
    """Sample ``num_rows`` rows of token ids, every one a path of the automaton.

    Each step runs the model on the newest token of every row of the batch, reusing the KV
    cache, masks the logits with ``next_state[state] >= 0`` on ``device``, applies temperature
    and top-p, draws one token per row and advances the states: no Python loop over rows and
    nothing rejected. Rows that finished emit ``<pad>`` until the batch is done; the forced
    ``<eos>`` after the last column is written without running the model.

    Args:
        model (transformers.PreTrainedModel): causal LM in eval mode on ``device``.
        automaton (TokenAutomaton): row grammar on ``device``.
        num_rows (int): rows to sample.
        batch_size (int): rows decoded together.
        device (torch.device): where to run.
        generator (torch.Generator): random source on ``device``.
        temperature (float): divides the logits; 1.0 samples the learned distribution.
        top_p (float): nucleus sampling mass; 1.0 disables it.
        max_length (int or None): most tokens after ``<bos>``; defaults to the model's positions.

    Returns:
        numpy.ndarray: int64 ``(num_rows, length)`` token ids without ``<bos>``.
    """
    max_length = max_length or model.config.n_positions - 1
    # One query per step: plain matmul attention beats the fused CPU kernel here (measured).
    attention = model.config._attn_implementation
    model.config._attn_implementation = 'eager'
    try:
        return _sample(model, automaton, num_rows, batch_size, device, generator, temperature,
                       top_p, max_length)
    finally:
        model.config._attn_implementation = attention


def _sample(model, automaton, num_rows, batch_size, device, generator, temperature, top_p,
            max_length):
    next_state = automaton.next_state
    allowed_table = next_state >= 0
    outputs = []
    for start in range(0, num_rows, batch_size):
        size = min(batch_size, num_rows - start)
        tokens = torch.full((size, 1), BOS, dtype=torch.int64, device=device)
        state = torch.full((size,), automaton.start, dtype=torch.int64, device=device)
        past = preallocated_cache(model, max_length + 1)
        steps = []
        for _ in range(max_length):
            out = model(input_ids=tokens, past_key_values=past, use_cache=True, logits_to_keep=1)
            past = out.past_key_values
            logits = out.logits[:, -1, :].float()
            allowed = allowed_table[state]
            logits = logits.masked_fill(~allowed, float('-inf'))
            if temperature != 1.0:
                logits = logits / temperature
            if top_p < 1.0:
                logits = _top_p_filter(logits, top_p)
            probs = torch.softmax(logits, dim=-1)
            token = _draw(probs, allowed, generator)
            state = next_state[state, token]
            steps.append(token)
            tokens = token[:, None]
            if bool((state >= automaton.end).all()):
                break  # only <eos> (and then <pad>) can follow: no need to run the model

        batch = torch.stack(steps, dim=1).cpu().numpy()
        batch = np.concatenate([batch, np.where((state == automaton.end).cpu().numpy(), EOS,
                                                PAD)[:, None]], axis=1)[:, :max_length]
        if batch.shape[1] < max_length:
            pad = np.full((size, max_length - batch.shape[1]), PAD, dtype=np.int64)
            batch = np.concatenate([batch, pad], axis=1)
        outputs.append(batch)

    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, max_length), np.int64)
