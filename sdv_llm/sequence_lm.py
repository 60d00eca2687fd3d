"""The sequence model both table models share: serializer, backbone, grammar, training,
random state and model files.

``SequenceLM`` turns a fitted ``TableSchema`` into token sequences through the registered
serialization (``sdv_llm.decoding.serializations``), builds the model through the backbone
registry (``sdv_llm.model.backbones``), trains it on the rows a subclass encodes, and saves and
loads it. It defines no ``fit`` nor ``sample``: ``sdv_llm.tabular_lm.TabularLM`` (one row per
sequence) and ``sdv_llm.relational.children.ChildrenLM`` (a parent's child rows per sequence)
each add their own, with their own signatures.
"""

import copy
import json
import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from sdv_llm.model.backbone import BackboneConfig
from sdv_llm.model.backbones import backbone_class, backbone_for
from sdv_llm.model.distributed import shared_seed, training_device
from sdv_llm.model.training import TrainingConfig, auto_epochs, train_backbone
from sdv_llm.plugins import get_serializations, state_registry
from sdv_llm.schema import CodecOptions
from sdv_llm.state import UnsafeStateError, from_json_value, registry_of, to_json_value

LOGGER = logging.getLogger(__name__)


@dataclass
class TabularLMConfig:
    """Every setting of the model, as the front ends pass them (``None`` = sized from the table).

    See ``LLMSynthesizer`` for the meaning of each field (``merge_sub_tokens`` with
    differential privacy raises ``ValueError`` in ``fit``). ``privacy`` is the synthesizer parameter
    (``sdv_llm.model.privacy.privacy_settings``).

    ``mixed_training`` and ``critic_filter`` set to ``'auto'`` are off here: the front ends
    resolve ``'auto'`` by the table's size (``LLMSynthesizer._fit``) and pass the result, and
    mixed training's rows come in through ``fit(pretrain_data=...)``.

    ``differential_privacy`` (a dict, see ``sdv_llm.model.differential_privacy.DEFAULTS``)
    trains with DP-SGD and fits every codec from the metadata alone
    (``CodecOptions.metadata_only``); the ``privacy`` protections, which read the rows, are
    then off (DP's guarantee covers rare values and copies).
    """

    epochs: int = None
    batch_size: int = None
    learning_rate: float = 3e-3
    embedding_dim: int = None
    num_layers: int = None
    num_heads: int = None
    dropout: float = None
    validation_fraction: float = 0.1
    patience: int = 3
    column_order: object = 'fd'
    conditional_fraction: float = 0.2
    serialization: str = None
    backbone: str = 'default'
    lora: object = None
    merge_adapter: bool = False
    gradient_checkpointing: bool = False
    text_preamble: bool = False
    table_name: str = None
    codec_options: CodecOptions = field(default_factory=CodecOptions)
    temperature: float = 1.0
    top_p: float = 1.0
    sample_batch_size: int = 4096
    sample_processes: int = None
    precision: str = 'auto'
    merge_sub_tokens: bool = False
    mixed_training: object = 'auto'
    critic_filter: object = 'auto'
    reward_finetuning: object = None
    enable_gpu: bool = True
    verbose: bool = False
    random_state: int = None
    differential_privacy: dict = None
    privacy: object = None


DP_MAX_AUTO_EPOCHS = 50
"""Most epochs ``epochs=None`` picks under differential privacy (every step spends budget)."""

DP_BATCH_FACTOR = 4
"""Under differential privacy ``batch_size=None`` picks this many times the usual size (at
most 1,024): larger Poisson batches need less noise per row for the same epsilon. Not tuned."""


BATCH_TOKENS = 65_536
"""Most tokens in one automatic training batch: long rows (wide tables) train in batches of
fewer rows, so activation memory does not grow with the column count (a 500-column row is
about 1,000 tokens). No table of ``shared/data`` reaches it."""


def auto_batch_size(num_rows, row_tokens=None):
    """Default batch size: about 1/16 of the rows, between 16 and 512, and at most
    ``BATCH_TOKENS`` tokens (a power of two, at least 4 rows).

    Args:
        num_rows (int): training rows.
        row_tokens (int or None): tokens of the longest training row.

    Returns:
        int
    """
    size = int(min(512, max(16, 2 ** round(math.log2(max(1, num_rows / 16))))))
    if row_tokens:
        size = min(size, max(4, 2 ** int(math.log2(max(1, BATCH_TOKENS // row_tokens)))))
    return size


class SequenceLM:
    """A causal language model of serialized sequences with constrained decoding.

    Subclasses fit a ``schema`` and a ``serializer`` (``_build_serializer`` gives the
    configured one), encode their rows and call ``_train``; sampling runs
    ``sdv_llm.decoding.sampler.sample_sequences`` on ``model`` and ``automaton``.

    Args:
        config (TabularLMConfig): settings.

    Attributes (after ``_train``):
        schema (TableSchema), serializer (Serializer), backbone (Backbone), backbone_config
        (BackboneConfig or None), training_config (TrainingConfig), model (the backbone's
        model), automaton, dependency_table, loss_values (pandas.DataFrame), privacy (dict or
        None): what differential privacy spent.
    """

    def __init__(self, config=None):
        self.config = config or TabularLMConfig()
        self.model = None
        self.pretrained = None
        self._generator = None
        self.privacy = None

    def _dp_settings(self, num_rows):
        """The resolved DP settings (``sdv_llm.model.differential_privacy.settings``), or None.

        Raises:
            ValueError: invalid settings, or a delta not below ``1 / num_rows``.
        """
        if self.config.differential_privacy is None:
            return None
        from sdv_llm.model.differential_privacy import check_delta, settings

        dp = settings(self.config.differential_privacy)
        check_delta(dp['delta'], num_rows)
        return dp

    def _codec_options(self):
        """The codec options; metadata-only under differential privacy."""
        options = self.config.codec_options
        if self.config.differential_privacy is not None:
            options = replace(options, metadata_only=True)
        return options

    def _training_seed(self, checkpoint_dir=None):
        """int: the seed of the fit: ``random_state``, a resumed checkpoint's, or fresh (the
        same in every process of an ``accelerate launch``)."""
        seed = self.config.random_state
        if seed is None and checkpoint_dir is not None:
            from sdv_llm.model.checkpoint import TrainingCheckpoint

            seed = TrainingCheckpoint(checkpoint_dir).saved_seed()
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        return shared_seed(seed)

    def _serialization_name(self):
        """The serialization the configuration asks for: ``serialization``, or the backbone
        kind's default (``Backbone.serialization``: ``'compact'`` for the embedded decoder,
        ``'text'`` for a pretrained LM)."""
        return self.config.serialization or backbone_class(self.config).serialization

    def _serialization(self):
        """The registered ``Serialization`` (``sdv_llm.decoding.serializations``) in use.

        Raises:
            ValueError: no serialization of that name is registered.
        """
        name = self._serialization_name()
        serializations = get_serializations()
        if name not in serializations:
            raise ValueError(
                f'Unknown serialization {name!r}; available: {sorted(serializations)}.')
        return serializations[name]

    def _build_serializer(self):
        """The backbone (``sdv_llm.model.backbones``) and the serializer the configuration
        asks for, with the backbone's tokenizer if it has one.

        Raises:
            ValueError: an unknown serialization, one written for another kind of backbone, a
                random order with CSV, or an unusable backbone.
        """
        config = self.config
        name = self._serialization_name()
        spec = self._serialization()
        self.backbone = backbone_for(config)
        if spec.backbone != self.backbone.family:
            names = [n for n, s in get_serializations().items()
                     if s.backbone == self.backbone.family]
            listed = ' or '.join([', '.join(map(repr, names[:-1])), repr(names[-1])]
                                 if len(names) > 1 else map(repr, names))
            article = 'an' if spec.backbone[0] in 'aeiou' else 'a'
            raise ValueError(f'serialization={name!r} needs {article} {spec.backbone} backbone; '
                             f'with backbone={config.backbone!r} use {listed}.')
        self.pretrained = getattr(self.backbone, 'spec', None)
        serializer = spec.serializer.create(
            self.schema, self.backbone.serializer_context(name, self.schema, config))
        serializer.check_order_mode(self.schema.order_mode)
        return serializer

    def _train(self, encode_rows, num_rows, checkpoint_dir=None, seed=None):
        """Build the backbone and the automaton and train on the serialized rows.

        Args:
            encode_rows (callable): see ``train_backbone``.
            num_rows (int): training sequences.
            checkpoint_dir (str or pathlib.Path or None): see ``fit``.
            seed (int or None): the fit's seed (``_training_seed``); ``None`` resolves it.

        Returns:
            TabularLM: ``self``.
        """
        config = self.config
        dp = self._dp_settings(num_rows)
        self.device = training_device(config.enable_gpu)
        self._compile_grammar()  # a text automaton also bounds the sequence length
        merged = getattr(self.automaton, 'merged', None)
        self.sub_tokens = (config.merge_sub_tokens and merged is not None
                           and bool(merged.any()))
        backbone = self._backbone()
        backbone.size(num_rows, self.serializer, config)
        self.backbone_config = backbone.config
        epochs = config.epochs or backbone.default_epochs(num_rows)
        # tokens of one training row (the compact path trims to the longest encoded row)
        self.row_tokens = row_tokens = getattr(encode_rows, 'length', self.serializer.max_length)
        batch_size = config.batch_size or auto_batch_size(num_rows, row_tokens)
        if dp is not None:
            epochs = config.epochs or min(epochs, DP_MAX_AUTO_EPOCHS)
            batch_size = config.batch_size or min(1024, DP_BATCH_FACTOR * batch_size)
        self.training_config = TrainingConfig(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=config.learning_rate,
            validation_fraction=0.0 if dp is not None else config.validation_fraction,
            patience=config.patience,
            verbose=config.verbose,
            differential_privacy=dp,
            precision=config.precision,
        )
        checkpoint = None
        if checkpoint_dir is not None:
            from sdv_llm.model.checkpoint import TrainingCheckpoint

            checkpoint = TrainingCheckpoint(checkpoint_dir)
        if seed is None:
            seed = self._training_seed(checkpoint_dir)
        torch.manual_seed(seed)
        self.model = self._build_model().to(self.device)
        LOGGER.info('vocabulary %d tokens, %d tokens per sequence, %d automaton states, '
                    '%d parameters', self.serializer.vocab_size, self.serializer.max_length,
                    self.automaton.num_states, sum(p.numel() for p in self.model.parameters()))
        pretraining = getattr(self, '_pretraining', None)
        if pretraining is not None and not (checkpoint is not None and checkpoint.saved_seed()
                                            is not None):
            # Mixed training: the baseline's rows first, without a validation split (early
            # stopping and the saved loss history belong to the real rows); a resumed fit has
            # its weights in the checkpoint already.
            pre_rows = pretraining[1]
            pre_config = replace(
                self.training_config, validation_fraction=0.0,
                epochs=(config.mixed_training if isinstance(config.mixed_training, dict)
                        else {}).get('epochs') or auto_epochs(pre_rows),
                batch_size=config.batch_size or auto_batch_size(pre_rows, row_tokens))
            self.pretrain_loss_values = train_backbone(
                self.model, pretraining[0], pre_rows, self.automaton, pre_config, self.device,
                seed + 1, prompt_length=len(self.serializer.prompt))
        report = {} if dp is not None else None
        self.loss_values = train_backbone(self.model, encode_rows, num_rows, self.automaton,
                                          self.training_config, self.device, seed,
                                          prompt_length=len(self.serializer.prompt),
                                          checkpoint=checkpoint, privacy_report=report,
                                          monitor=getattr(self, '_monitor', None))
        self.privacy = report
        if report is not None:
            LOGGER.info('differential privacy: epsilon %.4g spent of %.4g (delta %g, noise '
                        'multiplier %.4g, %d steps)', report['epsilon'],
                        report['target_epsilon'], report['delta'],
                        report['noise_multiplier'], report['steps'])
        if getattr(self, '_monitor', None) is not None:
            self.privacy_report['early_stopping'] = self._monitor.report()
        backbone.after_training(self.model)
        self.set_random_state(seed)
        return self

    def _compile_grammar(self):
        """The automaton, extended with the enforced dependencies of an ``'fd'`` order and
        the constraint rules (``Serialization.compile``)."""
        self.automaton, self.dependency_table = self._serialization().compile(
            self.serializer, getattr(self, 'dependency_mappings', []))
        self.automaton.to(self.device)
        if self.dependency_table is not None:
            self.dependency_table.to(self.device)

    def _build_model(self):
        return self._backbone().build(self.serializer, getattr(self, 'sub_tokens', False))

    def _backbone(self):
        """The ``Backbone`` (``sdv_llm.model.backbones``), created from the configuration
        where a model has none yet (a subclass's own serializer, a model loaded from files
        or pickled before the registry), with the size it was trained at."""
        backbone = getattr(self, 'backbone', None) or backbone_for(self.config)
        if backbone.config is None:
            backbone.config = getattr(self, 'backbone_config', None)
        self.backbone = backbone
        return backbone

    def set_random_state(self, random_state):
        """Seed the sampler: the same seed gives the same rows.

        Args:
            random_state (int or None): seed; ``None`` draws a fresh one.
        """
        if random_state is None:
            random_state = int(np.random.SeedSequence().generate_state(1)[0])
        if isinstance(random_state, tuple):  # SDV may pass (numpy RandomState, torch Generator)
            random_state = int(random_state[0].randint(0, 2**31 - 1))
        self._generator = torch.Generator(device=self.device).manual_seed(int(random_state))

    def _draw_seed(self):
        """int: a seed from the sampling generator (plans' orders, decoding draws)."""
        return int(torch.randint(0, 2**31 - 1, (1,), generator=self._generator,
                                 device=self.device))

    def __getstate__(self):
        """Pickle the weights as a CPU state dict and rebuild automaton and model on load."""
        state = self.__dict__.copy()
        if self.model is not None:
            state['model'] = self._backbone().weights(self.model)
            state.pop('automaton', None)
            state.pop('dependency_table', None)
            state['device'] = None
            state['_generator'] = None
        return state

    def __setstate__(self, state):
        weights = state.get('model')
        self.__dict__.update(state)
        if isinstance(weights, dict):
            self.device = training_device(self.config.enable_gpu)
            self.model = self._build_model()
            self._backbone().load_weights(self.model, weights)
            self.model.to(self.device).eval()
            self._compile_grammar()

    # ------------------------------------------------- safe files (no pickle)
    STATE_FILE = 'model.json'

    def save_files(self, directory):
        """Write the fitted model as JSON and safetensors into ``directory`` (which exists).

        Files: ``model.json`` (the settings, the column names, the fitted schema with its
        codecs, the dependency maps, the decoder and training settings, the loss history and
        what differential privacy spent and the privacy state: the copy filter's salted row
        hashes and what the protections did, the critic and the reward fine-tuning history,
        as ``sdv_llm.state`` JSON) and
        ``model.safetensors`` (the embedded decoder's weights)
        or, for a pretrained backbone, ``adapter/`` as peft writes it
        (``adapter_config.json``, ``adapter_model.safetensors``; the backbone's weights stay
        in its own directory, which ``model.json`` names). The serializer, the automaton and
        the dependency tables are rebuilt from the schema when loading.

        Raises:
            RuntimeError: the model is not fitted.
            TypeError: a setting or codec holds an object that cannot be written as JSON.
        """
        from pathlib import Path

        if self.model is None:
            raise RuntimeError('The model has not been fitted.')
        directory = Path(directory)
        registry = self._state_registry()
        config = copy.copy(self.config)
        if config.lora is not None and not isinstance(config.lora, dict):
            config.lora = None  # a peft config object: adapter/adapter_config.json holds it
        state = {
            'config': config,
            'columns': list(self.columns),
            'schema': self.schema,
            'dependency_mappings': list(getattr(self, 'dependency_mappings', [])),
            'backbone_config': getattr(self, 'backbone_config', None),
            'training_config': self.training_config,
            'sub_tokens': bool(getattr(self, 'sub_tokens', False)),
            'loss_values': self.loss_values.to_dict(orient='list'),
            'privacy': {'differential_privacy': getattr(self, 'privacy', None)},
            **self._files_state(),
        }
        _write_json(directory / self.STATE_FILE, to_json_value(state, registry))
        self._backbone().save(self.model, directory)

    @classmethod
    def load_files(cls, directory):
        """Read a model written by ``save_files``; no pickle, no code from the files runs.

        Args:
            directory (str or pathlib.Path): the folder ``save_files`` wrote.

        Returns:
            TabularLM: fitted, on the device ``enable_gpu`` picks here.

        Raises:
            FileNotFoundError: a file is missing.
            sdv_llm.state.UnsafeStateError: the JSON names a class or tag loading does not allow.
            ValueError: the files do not fit together (weights of another shape).
        """
        from pathlib import Path

        directory = Path(directory)
        registry = cls._state_registry()
        with open(directory / cls.STATE_FILE, encoding='utf-8') as handle:
            state = from_json_value(json.load(handle), registry)
        config = state['config']
        if not isinstance(config, TabularLMConfig):
            raise UnsafeStateError('model.json does not hold a TabularLMConfig.')
        self = cls(config)
        self.columns = list(state['columns'])
        self.schema = state['schema']
        self.dependency_mappings = [tuple(m) for m in state['dependency_mappings']]
        self.backbone_config = state['backbone_config']
        self.training_config = state['training_config']
        self.sub_tokens = bool(state['sub_tokens'])
        self.loss_values = pd.DataFrame(state['loss_values'])
        self.privacy = (state.get('privacy') or {}).get('differential_privacy')
        self._restore_files_state(state)
        self.serializer = self._build_serializer()
        self.device = training_device(config.enable_gpu)
        backbone = self._backbone()
        backbone.read_settings(directory, self.config)
        self.model = self._build_model()
        backbone.load(self.model, directory)
        self.model.to(self.device).eval()
        self._compile_grammar()
        return self


    @classmethod
    def _state_registry(cls):
        """The state classes a model file may hold: the plugins' (codecs, schema), the
        settings and ``_state_classes``."""
        from sdv_llm.decoding.constraints import Allowed

        return {**state_registry(),
                **registry_of([TabularLMConfig, BackboneConfig, TrainingConfig, Allowed,
                               *cls._state_classes()])}

    @classmethod
    def _state_classes(cls):
        """list[type]: classes a subclass's ``_files_state`` writes besides the base's."""
        return []

    def _files_state(self):
        """dict: what a subclass adds to ``model.json`` (plain values or state classes; its
        keys replace the base's)."""
        return {}

    def _restore_files_state(self, state):
        """Set what ``_files_state`` wrote, before the serializer is rebuilt.

        Raises:
            sdv_llm.state.UnsafeStateError: a value of the wrong class.
        """


def _write_json(path, value):
    """Write JSON to ``path`` through a temporary file and a rename (atomic on one disk)."""
    import os

    temporary = f'{path}.tmp'
    with open(temporary, 'w', encoding='utf-8') as handle:
        json.dump(value, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
