"""One cached decoding position of the embedded GPT-2 decoder, written as plain tensor ops.

Sampling runs the decoder once per token for thousands of rows at a time, one new position per
call. Through ``transformers`` each call also builds masks and position ids, goes through the
cache API and reshapes the keys and values for a generic attention function; at the embedded
decoder's size (a few hundred thousand parameters) that bookkeeping and the copies it makes
cost as much as the arithmetic. ``decode_step`` computes the same function (the GPT-2 block:
pre-norm attention and MLP, learned positions, final layer norm) directly from the model's
weights, with keys and values in a preallocated buffer laid out for batched matrix products.
"""

import math

import torch
from torch.nn import functional as F


class StepCache:
    """Keys and values of every layer for ``batch`` rows, ``capacity`` positions.

    Two layouts, each the faster one for its dtype on a CPU (measured on an AVX-512 core,
    BENCHMARKS.md 2026-12-01, tenth session): in float32 the keys and values of one (row, head)
    are contiguous and attention is two batched matrix products; in bfloat16 (or float16) they
    are laid out position by position, so writing a position is one contiguous copy and
    attention is an elementwise product and a sum over ``head_dim``, which avoids the copies
    that batched products of strided reduced-precision slices make.

    Args:
        config (transformers.GPT2Config): the decoder's config.
        batch (int): rows.
        capacity (int): most positions.
        dtype (torch.dtype), device (torch.device): of the buffers.

    Attributes:
        keys, values (torch.Tensor): ``(num_layers, batch * num_heads, capacity, head_dim)``
            in float32, ``(num_layers, capacity, batch * num_heads, head_dim)`` otherwise.
        by_position (bool): the second layout.
        length (int): positions written so far.
    """

    def __init__(self, config, batch, capacity, dtype, device):
        heads = config.n_head
        self.by_position = dtype != torch.float32
        rows = (batch * heads, capacity) if not self.by_position else (capacity, batch * heads)
        shape = (config.n_layer, *rows, config.n_embd // heads)
        self.keys = torch.empty(shape, dtype=dtype, device=device)
        self.values = torch.empty(shape, dtype=dtype, device=device)
        self.length = 0
        self.capacity = capacity
        width = config.n_embd
        # bool (width, heads) as ``dtype``: which head each hidden unit belongs to; a product
        # with it sums the per-unit query-key products of each head (reduced precision).
        self.heads = (torch.arange(width, device=device)[:, None] // (width // heads)
                      == torch.arange(heads, device=device)[None, :]).to(dtype)


def decode_step(lm, embeds, cache):
    """Run a ``GPT2LMHeadModel``'s transformer on one new position of every row.

    The result equals ``lm.transformer(inputs_embeds=embeds[:, None], past_key_values=...)``'s
    last hidden state in eval mode (tested against it), for the GPT-2 settings
    ``build_backbone`` uses (scaled dot-product attention, no layer-index scaling).

    Args:
        lm (transformers.GPT2LMHeadModel): the decoder, in eval mode.
        embeds (torch.Tensor): float ``(batch, n_embd)`` input embeddings of the new position
            (token and column embeddings; the position embedding is added here).
        cache (StepCache): the rows' keys and values; extended by one position.

    Returns:
        torch.Tensor: float ``(batch, n_embd)``, the final hidden state (after ``ln_f``), in
        the dtype of ``ln_f``'s weights.

    Raises:
        RuntimeError: the cache is full.
    """
    transformer = lm.transformer
    position = cache.length
    if position >= cache.capacity:
        raise RuntimeError(f'KV cache capacity {cache.capacity} exceeded.')
    width = embeds.shape[1]
    heads = lm.config.n_head
    head_dim = width // heads
    scale = 1.0 / math.sqrt(head_dim)
    # The residual stream and the layer norms in the norms' dtype (float32, also in a
    # reduced-precision copy: ``sdv_llm.decoding.sampler.reduced_copy``), the products in
    # the weights'.
    x = (embeds + transformer.wpe.weight[position]).to(transformer.ln_f.weight.dtype)
    for layer, block in enumerate(transformer.h):
        dtype = block.attn.c_attn.weight.dtype
        hidden = F.layer_norm(x, (width,), block.ln_1.weight, block.ln_1.bias,
                              block.ln_1.eps).to(dtype)
        qkv = torch.addmm(block.attn.c_attn.bias, hidden, block.attn.c_attn.weight)
        attended = _attention(qkv, cache, layer, position, heads, scale)
        x = x + torch.addmm(block.attn.c_proj.bias, attended, block.attn.c_proj.weight)
        hidden = F.layer_norm(x, (width,), block.ln_2.weight, block.ln_2.bias,
                              block.ln_2.eps).to(dtype)
        inner = block.mlp.act(torch.addmm(block.mlp.c_fc.bias, hidden, block.mlp.c_fc.weight))
        x = x + torch.addmm(block.mlp.c_proj.bias, inner, block.mlp.c_proj.weight)
    cache.length = position + 1
    norm = transformer.ln_f
    return F.layer_norm(x, (width,), norm.weight, norm.bias, norm.eps)


POSITION_BLOCK = 32
"""Positions summed together in the reduced-precision attention of rows longer than this."""


def _attention(qkv, cache, layer, position, heads, scale):
    """Write the new position's keys and values and attend over positions ``0..position``.

    Args:
        qkv (torch.Tensor): ``(batch, 3 * width)`` queries, keys and values of the new position.
        cache (StepCache): written at ``layer``, ``position``.
        layer, position, heads (int); scale (float): ``1 / sqrt(head_dim)``.

    Returns:
        torch.Tensor: ``(batch, width)`` in ``qkv``'s dtype, heads side by side.
    """
    batch, width = qkv.shape[0], qkv.shape[1] // 3
    head_dim = width // heads
    query, key, value = qkv.split(width, dim=1)
    if not cache.by_position:
        cache.keys[layer, :, position] = key.reshape(batch * heads, head_dim)
        cache.values[layer, :, position] = value.reshape(batch * heads, head_dim)
        keys = cache.keys[layer, :, : position + 1]
        values = cache.values[layer, :, : position + 1]
        query = query.reshape(batch * heads, 1, head_dim)
        weights = torch.softmax(torch.bmm(query, keys.transpose(1, 2)) * scale, dim=-1)
        return torch.bmm(weights, values).reshape(batch, width)
    cache.keys[layer, position].view(batch, width).copy_(key)
    cache.values[layer, position].view(batch, width).copy_(value)
    keys = cache.keys[layer, : position + 1]  # (positions, batch * heads, head_dim)
    values = cache.values[layer, : position + 1]
    query = query.reshape(batch * heads, head_dim) * scale
    # Scores as autocast computes them (reduced-precision products, summed in float32 and
    # rounded); the softmax and the weighted sum of values in float32. Short rows: one product
    # per position accumulates in place, faster than a (positions, rows, head_dim) product;
    # long rows (wide tables) sum blocks of positions, so the Python loop stays short.
    # The sum over ``head_dim`` as a product with the head indicator: a matrix product
    # accumulates in float32 and rounds once, as ``sum`` does, and costs about 0.6x the
    # reduction over a last dimension of 16 (4,096 rows, 4 heads; BENCHMARKS.md).
    products = (keys.view(position + 1, batch * width)  # flat: 0.8x the broadcast product
                * query.reshape(1, batch * width)).view(position + 1, batch, width)
    scores = (products @ cache.heads).view(position + 1, batch * heads).float()
    weights = torch.softmax(scores, dim=0)[..., None]
    attended = torch.zeros((batch * heads, head_dim), dtype=torch.float32, device=qkv.device)
    if position < POSITION_BLOCK:
        for index in range(position + 1):
            attended.addcmul_(weights[index], values[index])
    else:
        for start in range(0, position + 1, POSITION_BLOCK):
            block = slice(start, start + POSITION_BLOCK)
            attended += (weights[block] * values[block]).sum(dim=0)
    return attended.to(qkv.dtype).reshape(batch, width)
