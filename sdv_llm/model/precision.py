"""The dtype of the decoder's matrix products in training and sampling (``precision``).

On CUDA the decoder trains under autocast in bfloat16 (float16 with a gradient scaler where
the GPU lacks bfloat16) and samples in it. CPUs with native bfloat16 matrix products (AVX-512
BF16 or AMX, as oneDNN reports them) multiply bfloat16 matrices about 4x faster than float32
ones, so the embedded decoder uses them there too: training under autocast (float32 weights
and optimizer, attention computed in float32, whose bfloat16 CPU backward is slow) and
sampling with a bfloat16 copy of the weights (logits and draws in float32). Measured on Adult
with the same seed: identical training losses, 1.8x faster epochs, 2.6x faster sampling and
unchanged SDMetrics quality (BENCHMARKS.md, 2026-12-01, tenth session). Other CPUs, and
pretrained backbones on a CPU, compute in float32.
"""

import torch

PRECISIONS = ('auto', 'float32', 'bfloat16')
"""Values of the ``precision`` parameter."""


def cpu_supports_bf16():
    """Whether this CPU multiplies bfloat16 matrices natively (AVX-512 BF16 or AMX), as oneDNN
    reports it; ``False`` where torch cannot tell."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def compute_dtype(device, precision='auto'):
    """The reduced dtype the decoder computes in on ``device``, or ``None`` for float32.

    Args:
        device (torch.device): where training or sampling runs.
        precision (str): one of ``PRECISIONS``. ``'auto'``: on CUDA bfloat16 where supported,
            else float16; on a CPU bfloat16 where ``cpu_supports_bf16()``, else float32.
            ``'bfloat16'`` asks for it on any device (slow on CPUs without native support).

    Returns:
        torch.dtype or None

    Raises:
        ValueError: an unknown ``precision``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, not {precision!r}.')
    if precision == 'float32' or device.type not in ('cuda', 'cpu'):
        return None
    if precision == 'bfloat16':
        return torch.bfloat16
    if device.type == 'cuda':
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else None


FLOAT32_ATTENTION = 'sdv_llm_sdpa_float32'
"""The name under which ``float32_attention`` registers with ``transformers``."""


def float32_attention():
    """Register (once) and return the name of an attention function that runs
    ``transformers``' scaled dot-product attention in float32 under a reduced-precision
    autocast, for CPU training: the bfloat16 backward of the CPU's fused attention kernel was
    9x slower than float32 on Adult while the decoder's linear layers gain 4x.

    Returns:
        str: ``FLOAT32_ATTENTION``, for ``PreTrainedModel.set_attn_implementation``.
    """
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    if FLOAT32_ATTENTION not in AttentionInterface._global_mapping:
        def attention(module, query, key, value, attention_mask, **kwargs):
            dtype = query.dtype
            with torch.autocast(query.device.type, enabled=False):
                output, weights = sdpa_attention_forward(
                    module, query.float(), key.float(), value.float(), attention_mask, **kwargs)
            return output.to(dtype), weights

        AttentionInterface.register(FLOAT32_ATTENTION, attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(FLOAT32_ATTENTION, sdpa_mask)  # masks as sdpa
    return FLOAT32_ATTENTION
