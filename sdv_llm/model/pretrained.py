"""Pretrained backbones: a local Hugging Face causal LM and its tokenizer, adapted with peft.

Nothing is downloaded: ``backbone`` is a local directory written by ``save_pretrained``
(Llama, Qwen, Mistral, GPT-2, ...), loaded with ``local_files_only=True``. The LM's weights
are frozen and a peft adapter (LoRA by default, Hu et al., 2021, arXiv 2106.09685) is trained.
"""

import os
from dataclasses import dataclass

import torch

DEFAULT_LORA = {'r': 16, 'lora_alpha': 32, 'lora_dropout': 0.05}


def _check_directory(path):
    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        raise ValueError(f'backbone={path!r} is not a local directory; give "default" or the '
                         'directory of a Hugging Face causal LM saved with save_pretrained.')
    if not os.path.isfile(os.path.join(path, 'config.json')):
        raise ValueError(f'backbone={path!r} has no config.json: it is not a Hugging Face '
                         'model directory.')


def load_tokenizer(path):
    """The backbone's tokenizer, from its local directory.

    Raises:
        ValueError: the directory is missing, is not a model directory, or has no tokenizer.
    """
    from transformers import AutoTokenizer

    _check_directory(path)
    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f'backbone={path!r} has no loadable tokenizer: {error}') from error


def load_config(path):
    """The backbone's ``transformers`` config; ``ValueError`` unless it is a causal LM."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    _check_directory(path)
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ValueError(f'backbone={path!r} is a {config.model_type!r} model, not a causal '
                         'language model (AutoModelForCausalLM cannot load it).')
    return config


def max_positions(config):
    """Most positions the backbone attends over (``None`` when the config does not say)."""
    for name in ('max_position_embeddings', 'n_positions', 'seq_length'):
        value = getattr(config, name, None)
        if value:
            return int(value)
    return None


def lora_config(lora, model_type):
    """A peft config from the ``lora`` parameter.

    Args:
        lora (dict or peft.PeftConfig or None): LoRA settings (``r``, ``lora_alpha``,
            ``lora_dropout``, ...), or any peft config (IA3, AdaLoRA, ...), passed through.
        model_type (str): the backbone's ``config.model_type``: peft knows the attention
            modules of common architectures; others get every linear layer (``'all-linear'``).

    Returns:
        peft.PeftConfig
    """
    from peft import LoraConfig, PeftConfig
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as KNOWN

    if isinstance(lora, PeftConfig):
        return lora
    settings = dict(DEFAULT_LORA if lora is None else lora)
    if settings.get('target_modules') is None and model_type not in KNOWN:
        settings['target_modules'] = 'all-linear'
    settings.setdefault('task_type', 'CAUSAL_LM')
    return LoraConfig(**settings)


@dataclass
class PretrainedSpec:
    """Which pretrained backbone and adapter a model uses (what a saved synthesizer stores).

    Attributes:
        path (str): the backbone's local directory.
        peft_config (peft.PeftConfig): the adapter's config.
        merge_adapter (bool): merge the adapter into the weights for sampling.
        gradient_checkpointing (bool): recompute activations in the backward pass.
    """

    path: str
    peft_config: object
    merge_adapter: bool = False
    gradient_checkpointing: bool = False


class PretrainedDecoder(torch.nn.Module):
    """A peft-wrapped causal LM with the interface of ``TabularDecoder``.

    The text serializations name each column in the row, so the next-column input of the
    embedded decoder is not needed and is ignored.

    Args:
        model (peft.PeftModel): the adapted LM.

    Attributes:
        config: the LM's ``transformers`` config.
    """

    def __init__(self, model):
        super().__init__()
        self.lm = model
        self.config = model.config

    def forward(self, input_ids, next_columns=None, **kwargs):
        """Run the LM; ``next_columns`` is accepted and ignored. Shapes as ``TabularDecoder``."""
        return self.lm(input_ids=input_ids, **kwargs)

    windowed = False
    """Logits over the whole vocabulary (the sampler's ``FullVocabulary``)."""

    @property
    def max_positions(self):
        """int or None: most positions the LM attends over (``None`` when its config does
        not say)."""
        return max_positions(self.config)

    def kv_cache_bytes(self, capacity, dtype):
        """Bytes of keys and values one row of ``capacity`` positions holds in ``dtype``."""
        return (2 * self.config.num_hidden_layers * self.config.hidden_size * capacity
                * (torch.finfo(dtype).bits // 8))

    def full_cache(self, capacity):
        """An empty ``transformers`` KV cache of ``capacity`` positions for ``forward``."""
        from sdv_llm.decoding.kv_cache import preallocated_cache
        return preallocated_cache(self.lm, capacity)

    def adapter_state_dict(self):
        """Only the adapter's weights (CPU tensors): what a saved synthesizer holds."""
        from peft import get_peft_model_state_dict

        return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(self.lm).items()}

    def load_adapter_state_dict(self, state):
        """Load adapter weights written by ``adapter_state_dict``."""
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(self.lm, state)

    def merge(self):
        """Merge the adapter into the base weights (faster sampling; reversible)."""
        self.lm.merge_adapter()

    def unmerge(self):
        """Undo ``merge``."""
        self.lm.unmerge_adapter()


def build_pretrained(spec, vocab_size=None, dtype=None):
    """Load the backbone, freeze it and add the adapter.

    Args:
        spec (PretrainedSpec): path and adapter.
        vocab_size (int or None): resize the embeddings when the tokenizer is larger.
        dtype (torch.dtype or None): weights' dtype (default the checkpoint's, float32 on CPU).

    Returns:
        PretrainedDecoder: only the adapter's parameters require gradients.

    Raises:
        ValueError: the directory is not a loadable causal LM.
    """
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    config = load_config(spec.path)
    try:
        lm = AutoModelForCausalLM.from_pretrained(spec.path, local_files_only=True,
                                                  dtype=dtype or torch.float32)
    except (OSError, ValueError) as error:
        raise ValueError(f'backbone={spec.path!r} could not be loaded: {error}') from error
    if vocab_size and lm.get_input_embeddings().num_embeddings < vocab_size:
        lm.resize_token_embeddings(vocab_size)
    if spec.gradient_checkpointing:
        lm.gradient_checkpointing_enable()
        lm.enable_input_require_grads()
    lm.config.use_cache = True
    model = get_peft_model(lm, spec.peft_config)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f'The peft config {spec.peft_config!r} adds no trainable parameter to '
                         f'the {config.model_type!r} backbone; set target_modules.')
    return PretrainedDecoder(model)
