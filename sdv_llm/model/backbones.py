"""The backbone registry: one config class per kind of backbone, each building its model.

In the style of peft's config-to-model registration: ``BACKBONES`` maps a kind to its config
class, ``backbone_for(config)`` picks and validates the one a ``TabularLMConfig`` asks for, and
the core (``sdv_llm.tabular_lm.TabularLM``) builds, sizes, trains, saves and loads the model
through it without asking which kind it is. Two kinds are built in:

- ``'embedded'`` (``EmbeddedBackbone``): the small decoder trained from scratch on the compact
  vocabulary (``sdv_llm.model.backbone``);
- ``'pretrained'`` (``PretrainedBackbone``): a local Hugging Face causal LM adapted with LoRA
  through peft (``sdv_llm.model.pretrained``), which writes rows as text with its tokenizer.

A kind's serializations say which kind they write for (``Serialization.backbone``).
"""

import abc
from dataclasses import dataclass

from sdv_llm.model.backbone import (
    ONE_LAYER_MIN_EPOCHS,
    BackboneConfig,
    TabularDecoder,
    build_backbone,
)
from sdv_llm.model.training import auto_epochs
from sdv_llm.serialization.compact import BOS, EOS
from sdv_llm.serialization.text import preamble as text_preamble

DEFAULT_ADAPTER_EPOCHS = 3
"""Epochs of adapter training on a pretrained backbone when ``epochs`` is None."""


class Backbone(abc.ABC):
    """What the core asks of a backbone kind.

    Attributes:
        kind (str): the registry key.
        family (str): the serializations it reads (``Serialization.backbone``):
            ``'embedded'`` (a vocabulary the serializer builds) or ``'pretrained'`` (text
            through the backbone's tokenizer). A new kind may reuse either.
        serialization (str): the serialization used when ``serialization`` is None.
        config: see below.
    """

    kind = None
    family = None
    serialization = None
    config = None
    """The size ``size`` fixed (``BackboneConfig`` for the embedded decoder); ``None`` where
    the checkpoint fixes it."""
    supports_reward = False
    """Whether reward fine-tuning (``sdv_llm.model.reward``) can train it: its log-likelihoods
    of sampled paths must be exact (the embedded decoder on compact rows)."""

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config):
        """The backbone a ``TabularLMConfig`` describes, validated.

        Raises:
            ValueError: settings this kind cannot use (the parameter named).
        """

    def serializer_context(self, name, schema, config):
        """The ``SerializerContext`` of this backbone for serialization ``name``."""
        from sdv_llm.serialization.base import SerializerContext

        return SerializerContext(name)

    @abc.abstractmethod
    def size(self, num_rows, serializer, config):
        """Fix the model's size for the table (after the grammar is compiled).

        Args:
            num_rows (int): training rows.
            serializer (Serializer): fitted, with its ``max_length``.
            config (TabularLMConfig): the settings.

        Raises:
            ValueError: the rows do not fit the backbone.
        """

    @abc.abstractmethod
    def default_epochs(self, num_rows):
        """Epochs when ``epochs`` is None (int)."""

    @abc.abstractmethod
    def build(self, serializer, sub_tokens=False):
        """The untrained model (``torch.nn.Module`` with ``TabularDecoder``'s interface).

        Args:
            serializer (Serializer): the vocabulary and sequence length.
            sub_tokens (bool): merged second tokens (embedded decoder only).
        """

    def after_training(self, model):
        """Prepare the trained model for sampling (nothing by default)."""

    def read_settings(self, directory, config):
        """Read what ``save`` wrote besides the weights, before the model is built (nothing
        by default).

        Args:
            directory (pathlib.Path): the folder ``TabularLM.save_files`` wrote.
            config (TabularLMConfig): updated with what the files hold.
        """

    @abc.abstractmethod
    def weights(self, model):
        """The trained weights a pickled model keeps, as a dict of CPU tensors."""

    @abc.abstractmethod
    def load_weights(self, model, weights):
        """Load ``weights`` (from ``weights``) into a freshly built model."""

    @abc.abstractmethod
    def save(self, model, directory):
        """Write the trained weights into ``directory`` (``TabularLM.save_files``)."""

    @abc.abstractmethod
    def load(self, model, directory):
        """Read the weights ``save`` wrote into a freshly built model.

        Raises:
            ValueError: the files do not fit the model.
        """


@dataclass
class EmbeddedBackbone(Backbone):
    """The embedded decoder, sized from the table (``BackboneConfig.for_table``).

    Attributes:
        config (BackboneConfig or None): its size, fixed by ``size``.
    """

    kind = 'embedded'
    family = 'embedded'
    serialization = 'compact'
    supports_reward = True
    WEIGHTS_FILE = 'model.safetensors'

    config: BackboneConfig = None

    @classmethod
    def from_config(cls, config):
        return cls()

    def size(self, num_rows, serializer, config):
        self.config = BackboneConfig.for_table(
            num_rows, serializer.vocab_size, serializer.max_length, config.embedding_dim,
            config.num_layers, config.num_heads, config.dropout)

    def default_epochs(self, num_rows):
        """``auto_epochs``, and at least ``ONE_LAYER_MIN_EPOCHS`` for a one-layer decoder."""
        epochs = auto_epochs(num_rows)
        if self.config is not None and self.config.num_layers == 1:
            epochs = max(epochs, ONE_LAYER_MIN_EPOCHS)
        return epochs

    def build(self, serializer, sub_tokens=False):
        lm = build_backbone(self.config, serializer.vocab_size, serializer.max_length,
                            {'bos': BOS, 'eos': EOS})
        return TabularDecoder(lm, serializer.num_columns, sub_tokens=sub_tokens)

    def weights(self, model):
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}

    def load_weights(self, model, weights):
        model.load_state_dict(weights)

    def save(self, model, directory):
        from safetensors.torch import save_model

        save_model(model, str(directory / self.WEIGHTS_FILE))

    def load(self, model, directory):
        from safetensors.torch import load_model

        try:
            load_model(model, str(directory / self.WEIGHTS_FILE), strict=True)
        except RuntimeError as error:
            raise ValueError(f'{directory / self.WEIGHTS_FILE} does not fit the model '
                             f'described by the saved settings: {error}') from error


@dataclass
class PretrainedBackbone(Backbone):
    """A local Hugging Face causal LM with a LoRA adapter (peft).

    Attributes:
        spec (PretrainedSpec): path, adapter config, merging and gradient checkpointing.
        hf_config (transformers.PretrainedConfig): the checkpoint's config.
    """

    kind = 'pretrained'
    family = 'pretrained'
    serialization = 'text'
    ADAPTER_DIR = 'adapter'

    spec: object = None
    hf_config: object = None

    @classmethod
    def from_config(cls, config):
        """Read the checkpoint's config and the adapter settings.

        Raises:
            ValueError: ``backbone`` is not a loadable local directory, or ``lora`` is invalid.
        """
        from sdv_llm.model.pretrained import PretrainedSpec, load_config, lora_config

        hf_config = load_config(config.backbone)
        spec = PretrainedSpec(str(config.backbone), lora_config(config.lora, hf_config.model_type),
                              config.merge_adapter, config.gradient_checkpointing)
        return cls(spec, hf_config)

    def serializer_context(self, name, schema, config):
        from sdv_llm.model.pretrained import load_tokenizer
        from sdv_llm.serialization.base import SerializerContext

        preamble = text_preamble(schema, config.table_name) if config.text_preamble else None
        return SerializerContext(name, load_tokenizer(self.spec.path),
                                 getattr(self.hf_config, 'vocab_size', None), preamble)

    def size(self, num_rows, serializer, config):
        from sdv_llm.model.pretrained import max_positions

        limit = max_positions(self.hf_config)
        if limit is not None and serializer.max_length > limit:
            raise ValueError(f'A row takes up to {serializer.max_length} tokens, more than the '
                             f'{limit} positions of backbone={config.backbone!r}.')

    def default_epochs(self, num_rows):
        return DEFAULT_ADAPTER_EPOCHS

    def build(self, serializer, sub_tokens=False):
        from sdv_llm.model.pretrained import build_pretrained

        return build_pretrained(self.spec, serializer.vocab_size)

    def after_training(self, model):
        if self.spec.merge_adapter:
            model.merge()

    def weights(self, model):
        return model.adapter_state_dict()  # the backbone's weights stay in its directory

    def load_weights(self, model, weights):
        model.load_adapter_state_dict(weights)
        self.after_training(model)

    def save(self, model, directory):
        model.lm.save_pretrained(str(directory / self.ADAPTER_DIR))

    def load(self, model, directory):
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        adapter = directory / self.ADAPTER_DIR
        set_peft_model_state_dict(model.lm, load_file(str(adapter / 'adapter_model.safetensors')))
        self.after_training(model)

    def read_settings(self, directory, config):
        """Take the adapter's config from the saved ``adapter/``; it replaces ``lora``."""
        from peft import PeftConfig

        self.spec.peft_config = PeftConfig.from_pretrained(str(directory / self.ADAPTER_DIR))
        self.spec.peft_config.inference_mode = False  # as it was trained
        config.lora = self.spec.peft_config


BACKBONES = {cls.kind: cls for cls in (EmbeddedBackbone, PretrainedBackbone)}
"""``{kind: Backbone subclass}``; ``register_backbone`` adds one."""


def register_backbone(cls):
    """Add a ``Backbone`` subclass to ``BACKBONES`` under ``cls.kind`` (usable as a decorator).

    Raises:
        ValueError: ``cls`` is not a ``Backbone`` subclass with a ``kind``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Backbone) and cls.kind and cls.family):
        raise ValueError(f'{cls!r} is not a Backbone subclass with a kind and a family.')
    BACKBONES[cls.kind] = cls
    return cls


def backbone_kind(config):
    """The kind a configuration asks for: ``'embedded'`` for ``backbone`` None or
    ``'default'``, a registered kind by its name, ``'pretrained'`` for a directory."""
    if config.backbone in (None, 'default'):
        return 'embedded'
    if isinstance(config.backbone, str) and config.backbone in BACKBONES:
        return config.backbone
    return 'pretrained'


def backbone_class(config):
    """The ``Backbone`` subclass a ``TabularLMConfig`` asks for (``BACKBONES[backbone_kind]``)."""
    return BACKBONES[backbone_kind(config)]


def backbone_for(config):
    """The validated ``Backbone`` of a ``TabularLMConfig``.

    Raises:
        ValueError: see the kind's ``from_config``.
    """
    return backbone_class(config).from_config(config)
