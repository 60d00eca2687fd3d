"""LLMSynthesizer: the SDV 2.0 single-table synthesizer backed by a tabular language model."""

import logging

import numpy as np
import pandas as pd
from sdv.errors import NotFittedError, SynthesizerInputError
from sdv.single_table.base import COND_IDX, FIXED_RNG_SEED, BaseSingleTableSynthesizer
from sdv.single_table.ctgan import LossValuesMixin
from sdv.single_table.utils import validate_folder_path_with_table_names

from sdv_llm.model_files import VersionedModelFiles
from sdv_llm.parameters import (
    build_config,
    model_parameters,
    store_parameters,
    validate_parameters,
)
from sdv_llm.schema.sdtypes import RAW_SDTYPE_TRANSFORMERS

LOGGER = logging.getLogger(__name__)


class LLMSynthesizer(VersionedModelFiles, LossValuesMixin, BaseSingleTableSynthesizer):
    """Model a table with a causal language model over its serialized rows.

    Rows are written as tokens by metadata-driven column codecs (one token per category, a sign
    and fixed-width digits per number, time units for datetimes, characters for high-cardinality
    categoricals); a small decoder-only transformer is trained on them from scratch; sampling
    steps all rows at once through a token automaton of the row grammar, so every sampled row is
    valid and ``sample(n)`` returns ``n`` rows. Conditions (``sample(n, conditions=...)``,
    ``sample_from_conditions``, ``sample_remaining_columns``, ``impute``) are compiled into the
    same automaton, so no row is rejected. Primary keys and PII columns are regenerated or
    faked by SDV.

    Args:
        metadata (sdv.metadata.Metadata): metadata of one table.
        enforce_min_max_values (bool): sample numbers and datetimes only inside
            ``[range_min, range_max]`` (metadata range widened by the training range). Default True.
        enforce_rounding (bool): kept for SDV; numbers are always written with the column's
            decimal places (see ``max_significant_digits``). Default True.
        locales (list or str): locales of the PII fakers. Default ``['en_US']``.
        epochs (int or None): most training epochs; ``None`` picks about 300,000 row
            presentations (8 to 200 epochs, at least 16 for a one-layer decoder; 3 for an
            adapter). Early stopping may end training sooner. Default None.
        batch_size (int or None): training rows per step; ``None`` is about rows/16 in
            [16, 512]. Default None.
        learning_rate (float): peak AdamW learning rate. Default 3e-3.
        embedding_dim, num_layers, num_heads (int or None): decoder size; ``None`` sizes it from
            the table (see ``BackboneConfig.for_table``). Default None.
        dropout (float or None): dropout; ``None`` picks by table size. Default None.
        validation_fraction (float): rows held out for early stopping. Default 0.1.
        patience (int): epochs without validation improvement before stopping. Default 3.
        column_order (str or list[str]): the order columns are generated in: ``'fixed'``
            (table order), ``'fd'`` (determinants before the columns they determine, along the
            functional dependencies found in the training data, arXiv 2406.14541; the exact
            one-column dependencies are also enforced while decoding),
            ``'random'`` (a new permutation per training row and per sampled row, as GReaT), or
            a list of the modelled columns. Default ``'fd'`` (on Adult it matched ``'fixed'``
            on quality and ML efficacy and broke no dependency; BENCHMARKS.md).
        conditional_fraction (float): share of training rows, per epoch, whose columns are
            reordered with a random subset first, so that conditions and imputation (which
            generate the known columns first) stay in the training distribution. Unused with
            ``'random'``. Default 0.2.
        max_categories (int): categoricals with more values are spelled by characters.
            Default 1000.
        max_discrete_values (int): numerical columns with at most this many distinct values get
            one token per value (plus a digit path for others). Default 200.
        max_significant_digits (int or None): most digits kept past a number's integer part;
            ``None`` keeps the column's decimal places (a warning names a column whose
            precision is cut). Default None.
        temperature (float): sampling temperature. Default 1.0.
        top_p (float): nucleus sampling mass; 1.0 samples the full distribution. Default 1.0.
        sample_batch_size (int): rows decoded together. Default 4096.
        sample_processes (int or None): most processes drawing sampling batches side by side
            on a Linux CPU, one core each, forked so that they share the model
            (``sdv_llm.decoding.workers``); ``None`` takes ``torch.get_num_threads()``, ``1``
            samples in this process. The rows do not depend on it. Default None.
        precision (str): the dtype of the decoder's matrix products in training (autocast,
            float32 weights) and sampling: ``'auto'`` (bf16 on CUDA, fp16 where it lacks bf16;
            bf16 for the embedded decoder on CPUs with native bf16 products; float32
            elsewhere), ``'float32'`` or ``'bfloat16'``. Logits, softmax and draws are
            float32 in every case (``sdv_llm.model.precision``). Default ``'auto'``.
        merge_sub_tokens (bool): a binned number's sub-bin token shares its bin token's decoder
            position (``TabularDecoder.sub_tokens``): one decoder step per continuous number
            instead of two. Measured on a 2-core CPU (BENCHMARKS.md, 2026-12-02, fourteenth
            session): sampling 1.3-1.95x faster on tables with several continuous columns,
            quality within 0.005 on five of six tables but 0.007 lower on magic. Not with
            ``differential_privacy`` (``fit`` raises ``SynthesizerInputError``). Default
            False.
        enable_gpu (bool): use CUDA when available. Default True.
        verbose (bool): show progress bars. Default False.
        random_state (int or None): seed of the training run (initialisation, split, shuffling,
            dropout). Sampling is seeded by SDV (``reset_sampling``). Default None.
        backbone (str): ``'default'`` (the embedded decoder, trained from scratch) or the local
            directory of a Hugging Face causal LM (Llama, Qwen, Mistral, GPT-2, ...; loaded
            with ``local_files_only``), adapted with ``lora``. Default ``'default'``.
        serialization (str or None): how rows are written: ``'compact'`` (the embedded
            backbone's table vocabulary), or for a pretrained backbone ``'text'``
            (``age is 39, workclass is State-gov``, GReaT), ``'json'`` or ``'csv'`` (under a
            header line; rows keep the table's column order). ``None`` picks ``'compact'`` or
            ``'text'`` by backbone. Default None.
        lora (dict or peft.PeftConfig or None): the adapter of a pretrained backbone: LoRA
            settings (default ``{'r': 16, 'lora_alpha': 32, 'lora_dropout': 0.05}``; target
            modules found by peft for common architectures, every linear layer otherwise), or
            any peft config (IA3, AdaLoRA), passed through. Default None.
        merge_adapter (bool): merge the adapter into the backbone after training, for sampling
            speed. Default False.
        gradient_checkpointing (bool): recompute activations in the backward pass (less GPU
            memory for large backbones). Default False.
        text_preamble (bool): start every text row with an instruction built from the metadata
            (table, columns, sdtypes, ranges), as a prompt that is not trained on. Default False.
        mixed_training (dict or str or None): train first on rows sampled from a baseline
            synthesizer fitted on the same rows, then on the real rows (``sdv_llm.mixed``):
            keys ``baseline`` (``'GaussianCopulaSynthesizer'`` or ``'FastGenSynthesizer'``),
            ``rows`` (default 10 per training row, 5,000 to 50,000) and ``epochs`` (default the
            automatic rule). ``'auto'``: ``{'baseline': 'FastGenSynthesizer', 'epochs': 20}``
            on tables of fewer than 2,000 rows (``SMALL_TABLE_ROWS``), off on larger ones and
            under ``differential_privacy`` (chosen on the ``small`` benchmark profile,
            BENCHMARKS.md). ``None`` trains on the real rows only. Default ``'auto'``.
        critic_filter (dict or bool or None): critic filtering (``sdv_llm.model.critic``):
            after training, a logistic-regression critic (products of up to three standardized
            numbers and categories) learns to tell the training rows from sampled ones;
            sampling then draws ``ratio`` times the rows and keeps ``n`` of them: a draw
            weighted by the critic's density ratio (``'mode': 'weighted'``, the default) or the
            ``n`` it finds most real (``'top'``). Keys ``ratio`` (above 1, default 3),
            ``mode`` and ``rows`` (the critic's sampled rows; default as many as the training
            rows, at most 10,000 and at least 1,000). The kept rows are a subset of the drawn
            ones: any share of them moves by at most the bound of ``sdv_llm.model.critic``
            (total variation at most ``1 - 1 / ratio``). With known cells each row is drawn
            ``ceil(ratio)`` times and one draw kept. ``True`` = the defaults; ``'auto'`` = the
            defaults on tables of fewer than 2,000 rows, off on larger ones and under
            ``differential_privacy``; ``None`` = off. Not with ``differential_privacy``.
            Default ``'auto'``.
        reward_finetuning (dict or bool or None): similarity-reward fine-tuning
            (``sdv_llm.model.reward``; the project seeds' strategy from the ITMO thesis on
            fine-tuning LLMs for tables): after maximum-likelihood training, ``steps`` (default
            20) REINFORCE updates (Williams 1992), each on ``batch_rows`` (128) rows sampled
            with constrained decoding, rewarded by the logit of a real-vs-synthetic critic
            fitted again every ``critic_every`` (10) updates (``'reward': 'critic'``) or by how
            much each row's bins move the batch's marginals toward the training rows'
            (``'marginal'``), with a KL penalty of weight ``kl`` (0.1) to the
            maximum-likelihood model (Ziegler et al. 2019); AdamW at ``learning_rate``
            (1e-4). ``reward_history`` of the fitted model records each step. Embedded decoder
            only (not a pretrained backbone nor ``merge_sub_tokens``); not with
            ``differential_privacy``. ``True`` = the defaults; ``None`` = off. Default None.
        differential_privacy (dict or None): train with DP-SGD (Abadi et al. 2016) through
            opacus so that the fitted synthesizer is (epsilon, delta)-differentially private
            with respect to one training row: ``{'epsilon': 3.0}`` and optionally ``'delta'``
            (default 1e-5, must be below 1/rows), ``'max_grad_norm'`` (per-row clipping norm,
            default 1.0) and ``'accountant'`` (``'rdp'`` or ``'prv'``). Nothing else
            is learned from the rows: value sets, ranges, decimal places, bins and
            nullability come from the metadata (``range_values``, ``range_min``,
            ``range_max``, ``decimal_places``, ``datetime_format``, ``range_is_nullable``;
            missing keys raise an error naming the column), ``'fd'`` becomes ``'fixed'``,
            there is no validation split nor early stopping (a fixed number of epochs:
            ``None`` = at most 50, batches 4 times larger), PII columns are faked from the
            locales alone (no missing values), ``unknown`` and non-key ``id`` columns and
            constraints are refused, and SDV's formatters clip to the metadata ranges.
            ``get_privacy_info()`` reports the epsilon spent. See README, "Differential
            privacy". Default None.
        privacy (dict or bool or None): protections in the model (``sdv_llm.model.privacy``;
            keys and defaults in ``PRIVACY_DEFAULTS``). ``None`` (the defaults): **value
            protection** (categories seen in fewer than ``k`` rows, ``k`` = 5 plus a random 0
            to 2 per column as mostlyai-engine, are never sampled; numbers and datetimes are
            clipped to their ``k``-th smallest and largest values; conditions on those values
            raise) and the **copy filter** (sampled rows equal to a training row are drawn
            again beyond the share of validation rows equal to a training row, still ``n``
            rows; the model keeps salted hashes of the rows, not the rows). A dict changes
            settings: ``{'early_stopping': 'dcr'}`` adds REaLTabFormer-style early stopping
            on the DCR share of sampled rows, ``{'value_protection': False}`` keeps every
            value. ``False`` turns every protection off. ``get_privacy_info()`` reports what
            was done. Default None.

    The parameters, their defaults and constraints are defined once, in
    ``sdv_llm.parameters.PARAMETERS``.

    Raises:
        sdv.errors.SynthesizerInputError: an invalid parameter, named in the message.
    """

    _model_sdtype_transformers = RAW_SDTYPE_TRANSFORMERS

    def __init__(self, metadata, enforce_min_max_values=True, enforce_rounding=True,
                 locales=['en_US'], epochs=None, batch_size=None, learning_rate=3e-3,  # noqa: B006 (as SDV)
                 embedding_dim=None, num_layers=None, num_heads=None, dropout=None,
                 validation_fraction=0.1, patience=3, column_order='fd',
                 conditional_fraction=0.2, max_categories=1000,
                 max_discrete_values=200, max_significant_digits=None, temperature=1.0, top_p=1.0,
                 sample_batch_size=4096, sample_processes=None, precision='auto',
                 merge_sub_tokens=False, enable_gpu=True, verbose=False, random_state=None,
                 backbone='default', serialization=None, lora=None, merge_adapter=False,
                 gradient_checkpointing=False, text_preamble=False, mixed_training='auto',
                 critic_filter='auto', reward_finetuning=None, differential_privacy=None,
                 privacy=None):
        # The signature is explicit for SDV's get_parameters and for IDEs; its defaults are
        # those of sdv_llm.parameters.PARAMETERS (checked by tests/test_parameters.py).
        super().__init__(metadata, enforce_min_max_values=enforce_min_max_values,
                         enforce_rounding=enforce_rounding, locales=locales)
        store_parameters(self, locals())
        validate_parameters(self.get_parameters())

    # ------------------------------------------------------------ model files
    def save_pretrained(self, directory):
        """Save the fitted synthesizer as a directory of JSON and safetensors files.

        Unlike ``save`` (cloudpickle), loading these files runs no code from them. Layout:
        ``sdv_llm.json`` (format and package versions, metadata, parameters, SDV's fitted data
        processor state), ``model.json`` (settings, fitted codecs, column order,
        dependencies, loss history) and ``model.safetensors`` (weights), or ``adapter/`` (the
        peft adapter) for a pretrained backbone. See ``sdv_llm.persistence``.

        Args:
            directory (str or pathlib.Path): a new or empty folder, or a model folder to
                overwrite; its parent must exist.

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
            sdv_llm.persistence.ModelFileError: ``directory`` cannot receive a model.
            NotImplementedError: the synthesizer has a programmable constraint (use ``save``).
        """
        from sdv_llm.persistence import save_pretrained

        save_pretrained(self, directory)

    @classmethod
    def from_pretrained(cls, directory):
        """Load a synthesizer written by ``save_pretrained``; no code from the files runs.

        JSON is read through a closed list of classes (``sdv_llm.state``: the codecs the
        installed plugins register) and tensors by safetensors; no pickle is read.

        Args:
            directory (str or pathlib.Path): the model folder.

        Returns:
            LLMSynthesizer: fitted; it samples as the saved synthesizer after
            ``reset_sampling()`` (same seed, same rows).

        Raises:
            sdv_llm.persistence.ModelFileError: a missing folder, not a model, another format
                or package version (both versions named).
            sdv_llm.state.UnsafeStateError: the files name a class or tag that loading does
                not allow.
        """
        from sdv_llm.persistence import from_pretrained

        return from_pretrained(cls, directory)

    def fit(self, data, checkpoint_dir=None):
        """Fit the synthesizer on the table; SDV's ``fit`` with an optional checkpoint folder.

        Args:
            data (dict[str, pandas.DataFrame]): the table under its name.
            checkpoint_dir (str or pathlib.Path or None): after every epoch, the model,
                optimizer, scheduler and random states and the loss history are written there
                (safetensors and JSON, atomically). A fit started again with the same data,
                parameters and folder continues after the last finished epoch and ends with
                the same model as an uninterrupted fit. Default None (no checkpoints).
        """
        if checkpoint_dir is not None and self.differential_privacy is not None:
            raise SynthesizerInputError('checkpoint_dir is not supported with '
                                        'differential_privacy.')
        self._checkpoint_dir = checkpoint_dir
        try:
            super().fit(data)
        finally:
            self._checkpoint_dir = None

    def _model_parameters(self):
        return model_parameters(self.get_parameters())

    def _preprocess(self, table_data):
        """SDV's preprocessing; under differential privacy, checked and made data-free.

        Before: every column's metadata must declare what its codec needs and no constraint
        may be set (``_check_differential_privacy``). After: what SDV's data processor learned
        from the rows is replaced by what the metadata says (``_data_free_processor``).
        """
        if self.differential_privacy is not None:
            self._check_differential_privacy(table_data)
        processed = super()._preprocess(table_data)
        if self.differential_privacy is not None:
            self._data_free_processor()
        return processed

    def _check_differential_privacy(self, table_data):
        """Raise unless the table can be fitted with differential privacy.

        Raises:
            sdv.errors.SynthesizerInputError: every column whose metadata lacks a key its codec
                needs (column, sdtype and keys named), an ``unknown``, non-key ``id`` or
                ``pii=False`` column, a constraint, an explicit ``mixed_training``,
                ``critic_filter`` or ``reward_finetuning``, ``merge_sub_tokens=True``, or a
                delta not below 1/rows.
        """
        from sdv_llm.model.differential_privacy import check_delta, settings
        from sdv_llm.schema.metadata_only import (
            REQUIRED,
            missing_keys,
            missing_message,
            unsupported_message,
        )

        table = self.metadata.tables[self._table_name]
        keys = {table.primary_key, *getattr(table, 'alternate_keys', [])} - {None}
        keys |= set(getattr(self, '_generated_columns', ()))  # foreign keys (multi-table)
        problems = []
        for column, column_metadata in table.columns.items():
            sdtype = column_metadata.get('sdtype')
            if column in keys:
                continue
            if sdtype in REQUIRED:
                dtype = table_data[column].dtype if column in table_data else None
                missing = missing_keys(column_metadata, dtype)
                if missing:
                    problems.append(missing_message(column, column_metadata, missing))
            elif sdtype == 'unknown' or (sdtype == 'id' and not column_metadata.get(
                    'regex_format')) or column_metadata.get('pii') is False:
                problems.append(unsupported_message(column, column_metadata))
        if self._reject_sampling_constraints or self._chained_constraints:
            problems.append('Constraints learn from the training rows (value combinations, '
                            'bounds); they are not supported with differential_privacy.')
        if getattr(self, 'merge_sub_tokens', False):
            problems.append('merge_sub_tokens=True trains a sub-token layer that opacus does '
                            'not clip per row; it is not supported with differential_privacy.')
        if getattr(self, 'critic_filter', None) not in (None, False, 'auto'):
            problems.append('critic_filter fits a classifier on the training rows outside the '
                            'DP guarantee; it is not supported with differential_privacy.')
        if getattr(self, 'reward_finetuning', None) not in (None, False):
            problems.append('reward_finetuning rewards sampled rows for resembling the training '
                            'rows outside the DP guarantee; it is not supported with '
                            'differential_privacy.')
        if getattr(self, 'mixed_training', None) not in (None, 'auto'):
            problems.append('mixed_training pre-trains on rows of a baseline fitted on the '
                            'training rows outside the DP guarantee; it is not supported with '
                            'differential_privacy.')
        try:
            check_delta(settings(self.differential_privacy)['delta'], len(table_data))
        except ValueError as error:
            problems.append(f'differential_privacy: {error}')
        if problems:
            raise SynthesizerInputError('\n'.join(problems))

    def _data_free_processor(self):
        """Replace what SDV's data processor learned from the rows by data-free values.

        * Numerical formatters clip to the metadata's ``[range_min, range_max]`` (SDV clips
          sampled values to the training minimum and maximum) and round to its
          ``decimal_places``; datetime formatters keep the metadata's ``datetime_format``.
        * PII fakers are seeded from the column name alone (rdt hashes the first five
          values into the seed) and generate no missing values (rdt learns their share).
        * Generators told to match the training cardinality (``cardinality_rule`` ``'match'``
          or ``'scale'``) forget it and generate freely.

        The dtypes of the training columns stay: they are the table's schema.
        """
        columns = self.metadata.tables[self._table_name].columns
        processor = self._data_processor
        for column, formatter in processor.formatters.items():
            metadata = columns.get(column, {})
            if hasattr(formatter, '_min_value'):
                if getattr(formatter, 'enforce_min_max_values', False):
                    formatter._min_value = metadata.get('range_min')
                    formatter._max_value = metadata.get('range_max')
                formatter._rounding_digits = metadata.get('decimal_places')
            elif hasattr(formatter, 'datetime_format'):
                formatter.datetime_format = metadata.get('datetime_format')
        for transformer in processor._hyper_transformer.field_transformers.values():
            if transformer is None:
                continue
            if getattr(transformer, 'cardinality_rule', None) in ('match', 'scale'):
                transformer.cardinality_rule = None
                transformer._data_cardinality = None
                transformer._data_cardinality_scale = None
            if hasattr(transformer, '_nan_frequency'):
                transformer._nan_frequency = 0.0
            if hasattr(transformer, '_set_faker_seed'):
                transformer._set_faker_seed(pd.Series([], dtype=object))

    def _differential_privacy_info(self):
        """The ``'differential_privacy'`` entry of ``get_privacy_info`` (None without DP)."""
        spent = getattr(self._model, 'privacy', None)
        if self.differential_privacy is None or spent is None:
            return None
        return {**spent, 'metadata_only': True}

    def _validate(self, table_data):
        if len(table_data) == 0:
            return [(f"The table '{self._table_name}' has no rows; LLMSynthesizer needs at "
                     'least one.')]
        return []

    def add_constraints(self, constraints):
        """Add ``sdv.cag`` constraints; the sampled rows meet them without rejection.

        ``Inequality``, ``Range``, ``FixedCombinations``, ``OneHotEncoding`` and
        ``FixedIncrements`` are enforced while decoding (``sdv_llm.decoding.constraints``): the
        model keeps learning the raw columns; each row's later column is restricted by its
        earlier one, and an incremented column keeps to its multiples. SDV keeps them in its
        bookkeeping (``get_constraints``, ``validate_constraints``, save and load) and checks
        every returned row; a row a rule could not cover (a determinant written with several
        tokens, three or more fixed columns, a one-hot group generated all zeros) is drawn
        again. ``ProgrammableConstraint`` takes SDV's own path (data transformed for the
        model, reverse-transformed and checked at sampling), with the raw-value data
        processing kept.

        Args:
            constraints (list): ``sdv.cag`` constraint instances.

        Raises:
            sdv.errors.SynthesizerInputError: a multi-table constraint.
            sdv.cag._errors.ConstraintNotMetError: a constraint on columns the metadata lacks
                or of the wrong sdtype (SDV's message).
        """
        from sdv.cag._utils import _validate_constraints_single_table

        from sdv_llm.decoding.constraints import decoded

        if self.differential_privacy is not None:
            raise SynthesizerInputError('Constraints learn from the training rows (value '
                                        'combinations, bounds); they are not supported with '
                                        'differential_privacy.')
        constraints = _validate_constraints_single_table(constraints, self._fitted)
        metadata = getattr(self, '_composite_keys_metadata', None) or self.metadata
        for constraint in filter(decoded, constraints):
            constraint.get_updated_metadata(metadata)  # SDV's checks of columns and sdtypes
            self._reject_sampling_constraints.append(constraint)
            self._constraints_fitted = False
        others = [constraint for constraint in constraints if not decoded(constraint)]
        if others:
            super().add_constraints(others)
            self._update_default_transformers()  # SDV rebuilt the data processor

    def fit_processed_data_with(self, table_name, processed_data, fit_model, empty=False):
        """Fit through SDV's ``fit_processed_data`` with a model that another fit builds.

        ``LLMMultiTableSynthesizer`` fits each table's model itself (a child table's model
        reads its parent's rows); it hands the model over here, so that SDV's own
        ``fit_processed_data`` marks the synthesizer fitted (dates, versions), as HMA fits its
        table synthesizers.

        Args:
            table_name (str): the table.
            processed_data (pandas.DataFrame): the table's modelled columns.
            fit_model (callable): ``processed_data -> TabularLM`` (or a model that samples
                like one).
            empty (bool): also build the model when ``processed_data`` is empty (SDV's
                ``fit_processed_data`` skips ``_fit`` then): a child table of keys only still
                has a model of its children counts. Otherwise such a table keeps no model.
        """
        self._fit_model = fit_model
        try:
            self.fit_processed_data({table_name: processed_data})
            if empty and processed_data.empty:
                self._fit(processed_data)
        finally:
            self._fit_model = None

    def _fit(self, processed_data):
        if getattr(self, '_fit_model', None) is not None:  # see fit_processed_data_with
            self._model = self._fit_model(processed_data)
            return
        from sdv_llm.decoding.constraints import (
            constraint_precedence,
            constraint_restrictions,
            constraint_rules,
        )
        from sdv_llm.mixed import resolve as resolve_mixed_training
        from sdv_llm.model.critic import critic_settings
        from sdv_llm.tabular_lm import TabularLM

        columns = dict(self.metadata.tables[self._table_name].columns)
        # A column a user gave an rdt transformer (``update_transformers``) reaches the model
        # transformed: the metadata's ranges and category lists describe the raw values, not
        # these, so they are left out of its codec.
        for column, transformer in self.get_transformers().items():
            if transformer is not None and column in columns:
                columns[column] = {key: value for key, value in columns[column].items()
                                   if not key.startswith('range_')}
        if self.differential_privacy is not None:
            transformed = sorted(column for column, transformer
                                 in self.get_transformers().items()
                                 if transformer is not None and column in processed_data)
            if transformed:
                raise SynthesizerInputError(
                    f'Columns {transformed} were given rdt transformers, which learn from '
                    'the training rows; remove them to fit with differential_privacy.')
        config = build_config(self._model_parameters())
        config.table_name = self._table_name
        # 'auto': the small-table strategies under SMALL_TABLE_ROWS rows, never under DP (an
        # explicit strategy under DP reaches the model, which refuses it).
        private = self.differential_privacy is not None
        rows = len(processed_data)
        config.mixed_training = None if private and self.mixed_training == 'auto' else \
            resolve_mixed_training(self.mixed_training, rows)
        config.critic_filter = None if private and self.critic_filter == 'auto' else \
            critic_settings(self.critic_filter, rows)
        constraints = self._reject_sampling_constraints
        pretrain_data = None
        if config.mixed_training is not None:
            from sdv_llm.mixed import baseline_rows

            pretrain_data = baseline_rows(processed_data, columns, config.mixed_training,
                                          self.random_state)
        from sdv_llm.model.differential_privacy import PrivacyBudgetError

        try:
            self._model = TabularLM(config).fit(
                processed_data, columns, self.enforce_min_max_values,
                rules=constraint_rules(constraints, processed_data),
                precedence=constraint_precedence(constraints),
                checkpoint_dir=getattr(self, '_checkpoint_dir', None),
                restrictions=lambda codecs: constraint_restrictions(constraints, processed_data,
                                                                     codecs),
                pretrain_data=pretrain_data)
        except PrivacyBudgetError as error:
            raise SynthesizerInputError(str(error)) from None

    def _as_processed(self, raw):
        """Model rows in the dtypes of the processed data: a column a user gave an rdt
        transformer comes back numeric, as that transformer's ``reverse_transform`` expects."""
        raw = raw.reset_index(drop=True)
        for column, transformer in self.get_transformers().items():
            if transformer is not None and column in raw:
                raw[column] = raw[column].infer_objects()
        return raw

    def _sample(self, num_rows, conditions=None):
        if conditions is None:
            return self._as_processed(self._model.sample(num_rows))
        if isinstance(conditions, pd.DataFrame):  # SDV's per-combination path: one row repeated
            known = conditions.drop(columns=[COND_IDX], errors='ignore').iloc[[0] * num_rows]
            return self._as_processed(
                self._model.sample_known(known[self._modelled(known.columns)]))
        return self._as_processed(self._model.sample(num_rows, conditions=dict(conditions)))

    def export_script(self, path, num_rows=None, dependencies='copula', command=None):
        """Write a standalone sampling script (numpy and pandas only) of what this model learned.

        The model samples ``num_rows`` rows, a FastGenSynthesizer is fitted to them
        (``sdv_llm.fastgen.distill``) and writes the script: a model-free sampler of the
        LLM's marginals, copula dependencies and exact functional dependencies.

        Args:
            path (str or pathlib.Path): the ``.py`` file to write.
            num_rows (int or None): rows sampled to fit the script; ``None`` is 20,000.
            dependencies (str): ``'copula'`` or ``'none'``.
            command (str or None): the command recorded in the script's header.

        Returns:
            pathlib.Path: ``path``.

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
        """
        from sdv_llm.fastgen.distill import DISTILL_ROWS, distill

        student = distill(self, num_rows or DISTILL_ROWS, dependencies)
        return student.export_script(path, command=command)

    def _modelled(self, columns):
        return [column for column in columns if column in self._model.columns]

    def _prepare_sampling(self):
        self._validate_fit_before_sample()
        self._reset_privacy_counters()
        if not self._random_state_set:
            self._set_random_state(FIXED_RNG_SEED)

    def _sample_known(self, known, mask, batch_size=None, allow_null=True,
                      max_tries_per_batch=100):
        """Generate rows around known cells in one pass; keys and PII are generated by SDV.

        Args:
            known (pandas.DataFrame): one row per row to return.
            mask (numpy.ndarray): bool ``known.shape``; ``True`` cells are kept as given.
            max_tries_per_batch (int): draws of a row that breaks a constraint before giving up.

        Returns:
            pandas.DataFrame: ``len(known)`` rows in the table's columns.

        Raises:
            sdv.errors.SynthesizerInputError: a known value the column cannot take, or rows whose
                known values leave no way to meet the constraints.
        """
        known = known.reset_index(drop=True)
        mask = np.asarray(mask, dtype=bool)
        columns = self._modelled(known.columns)
        positions = [list(known.columns).index(column) for column in columns]

        def draw(rows):
            try:
                return self._model.sample_known(known.loc[rows, columns].reset_index(drop=True),
                                                mask[rows][:, positions], batch_size, allow_null)
            except ValueError as error:
                raise SynthesizerInputError(str(error)) from error

        sampled = self._valid_rows(draw, len(known), max_tries_per_batch)
        # Known cells of columns SDV generates (keys, PII) are written back as given.
        generated_by_sdv = ~np.isin(np.asarray(known.columns, dtype=object), columns)
        _copy_cells(sampled, known, mask & generated_by_sdv, known.columns)
        return sampled

    def _valid_rows(self, draw, num_rows, max_tries_per_batch=100):
        """``num_rows`` rows that meet every constraint: rows that break one are drawn again.

        Args:
            draw (callable): ``draw(rows)`` -> raw model rows for the positions ``rows`` (an int
                array), in that order.
            num_rows (int): rows wanted.
            max_tries_per_batch (int): most draws of the same row.

        Returns:
            pandas.DataFrame: ``num_rows`` rows, indexed from 0 in the order of the positions.

        Raises:
            sdv.errors.SynthesizerInputError: some rows broke a constraint in every draw.
        """
        pending = np.arange(num_rows)
        parts = []
        for _ in range(max(1, max_tries_per_batch)):
            sampled = self._reverse_transform(draw(pending))
            kept = sampled.index.to_numpy()
            sampled.index = pending[kept]
            parts.append(sampled)
            pending = np.delete(pending, kept)
            if len(pending) == 0:
                break
        if len(pending):
            names = [type(c).__name__ for c in self._get_all_constraints_list()]
            raise SynthesizerInputError(
                f'{len(pending)} of {num_rows} rows broke the constraints {names} in '
                f'{max_tries_per_batch} draws: the conditions or known values may contradict '
                'them.'
            )
        return pd.concat(parts).sort_index().reset_index(drop=True)

    def _reverse_transform(self, raw):
        """Raw model rows -> table rows (keys, PII, dtypes by SDV) that meet the constraints.

        Returns:
            pandas.DataFrame: the rows that meet every constraint, indexed by their position
            in ``raw``.
        """
        sampled = self._data_processor.reverse_transform(self._as_processed(raw))
        return self.reverse_transform_constraints(sampled)

    def _write(self, sampled, output_folder_path):
        if output_folder_path is not None:
            path = validate_folder_path_with_table_names(output_folder_path,
                                                         [self._table_name])[0]
            sampled.to_csv(path, index=False)

    def sample(self, num_rows, main_table_name=None, max_tries_per_batch=100, batch_size=None,
               output_folder_path=None, conditions=None):
        """Sample rows, optionally meeting conditions on any columns, without rejection.

        Args:
            num_rows (int): rows to return.
            main_table_name, max_tries_per_batch, batch_size, output_folder_path: as in SDV.
            conditions (dict or None): ``{column: condition}`` for every row: a value, a list of
                values (any of them), or an inclusive ``(low, high)`` range (numerical and
                datetime columns; ``None`` leaves a side open). Compiled into the decoding
                automaton: the conditioned columns are generated first and constrained, so no
                row is rejected.

        Returns:
            dict[str, pandas.DataFrame]: exactly ``num_rows`` rows of the table.

        Raises:
            sdv.errors.SynthesizerInputError: a condition on an unknown or unmodelled column,
                a value the column cannot take (named in the message), ``num_rows``,
                ``batch_size`` or ``max_tries_per_batch`` out of range, or conditions that
                leave no way to meet the constraints.
        """
        _check_sampling_arguments(num_rows, batch_size, max_tries_per_batch)
        self._reset_privacy_counters()
        if conditions is None:
            return super().sample(num_rows, main_table_name, max_tries_per_batch, batch_size,
                                  output_folder_path)
        self._prepare_sampling()
        unmodelled = [column for column in conditions if column not in self._model.columns]
        if unmodelled:
            raise SynthesizerInputError(
                f'Conditions on {unmodelled} are not supported: sample conditions only on the '
                f'modelled columns {self._model.columns}.'
            )
        if self._chained_constraints:  # SDV transforms the conditions for those constraints
            from sdv.sampling import Condition

            if any(isinstance(v, (list, tuple, set)) for v in conditions.values()):
                raise SynthesizerInputError(
                    'With a programmable constraint (SDV transforms the data for it), conditions '
                    'must be single values; value sets and ranges are not supported.')
            return super().sample_from_conditions(
                [Condition(dict(conditions), num_rows=num_rows)], max_tries_per_batch,
                batch_size, output_folder_path)

        def draw(rows):
            try:
                return self._model.sample(len(rows), conditions=conditions,
                                          batch_size=batch_size)
            except ValueError as error:
                raise SynthesizerInputError(str(error)) from error

        sampled = self._valid_rows(draw, num_rows, max_tries_per_batch)
        self._write(sampled, output_folder_path)
        return {self._table_name: sampled}

    def sample_from_conditions(self, conditions, max_tries_per_batch=100, batch_size=None,
                               output_folder_path=None):
        """Sample rows for each condition, all conditions in one batched pass.

        SDV's base samples each distinct combination of condition values separately and
        rejects rows that miss it; here every condition is compiled into the decoding automaton
        (conditioned columns first, their tokens forced), so rare conditions cost no more than
        common ones and no row is rejected.

        Args:
            conditions (list[sdv.sampling.Condition or sdv.sampling.DataFrameCondition]):
                values and row counts.
            max_tries_per_batch (int): unused (nothing is rejected); kept for SDV.
            batch_size (int or None): rows decoded together.
            output_folder_path (str or None): also write the rows there as CSV.

        Returns:
            dict[str, pandas.DataFrame]: the rows of every condition, in order.

        Raises:
            sdv.errors.SynthesizerInputError: a condition value the column cannot take (named).
            ValueError: a condition on a column the metadata does not have (SDV's check).
        """
        _check_sampling_arguments(0, batch_size, max_tries_per_batch)
        if self._chained_constraints:  # conditions need SDV's transform of the constraints
            return super().sample_from_conditions(conditions, max_tries_per_batch, batch_size,
                                                  output_folder_path)
        self._prepare_sampling()
        frames = self._make_condition_dfs(conditions)
        self._validate_conditions(frames)
        known = pd.concat(frames, ignore_index=True)
        mask = np.concatenate([
            np.column_stack([np.full(len(frame), column in frame.columns)
                             for column in known.columns])
            for frame in frames
        ]) if frames else np.zeros((0, 0), dtype=bool)
        sampled = self._sample_known(known, mask, batch_size,
                                     max_tries_per_batch=max_tries_per_batch)
        self._write(sampled, output_folder_path)
        return {self._table_name: sampled}

    def sample_remaining_columns(self, known_columns, max_tries_per_batch=100, batch_size=None,
                                 output_folder_path=None):
        """Sample the other columns of each known row, all rows in one batched pass.

        Args:
            known_columns (pandas.DataFrame): one row per row to sample; its values (NaN
                included, meaning missing) are kept.
            max_tries_per_batch (int): unused (nothing is rejected); kept for SDV.
            batch_size (int or None): rows decoded together.
            output_folder_path (str or None): also write the rows there as CSV.

        Returns:
            dict[str, pandas.DataFrame]: ``len(known_columns)`` rows, with its index.

        Raises:
            sdv.errors.SynthesizerInputError: a known value the column cannot take (named).
        """
        _check_sampling_arguments(0, batch_size, max_tries_per_batch)
        if self._chained_constraints:  # known values need SDV's transform of the constraints
            return super().sample_remaining_columns(known_columns, max_tries_per_batch,
                                                    batch_size, output_folder_path)
        self._prepare_sampling()
        known_columns = known_columns.copy()
        self._validate_known_columns(known_columns)
        sampled = self._sample_known(known_columns, np.ones(known_columns.shape, dtype=bool),
                                     batch_size, max_tries_per_batch=max_tries_per_batch)
        sampled.index = known_columns.index  # the caller's rows, as SDV's synthesizers keep them
        self._write(sampled, output_folder_path)
        return {self._table_name: sampled}

    def impute(self, data, batch_size=None):
        """Fill the missing cells of each row, conditioned on the row's other cells.

        Every missing cell (NaN/None) is generated given the present cells of its row, with the
        present cells placed first and forced; present cells are returned unchanged.

        Args:
            data (pandas.DataFrame or dict[str, pandas.DataFrame]): rows of the table, with
                missing cells; a dict holds the table under its name.
            batch_size (int or None): rows decoded together.

        Returns:
            the same type as ``data``: the rows with their missing cells filled, same index.

        Raises:
            sdv.errors.SynthesizerInputError: a present value the column cannot take (named).
        """
        table = data[self._table_name] if isinstance(data, dict) else data
        self._prepare_sampling()
        self._validate_known_columns(table)
        missing = table.isna().to_numpy()
        generated = self._sample_known(table, ~missing, batch_size, allow_null=False)
        filled = table.copy()
        _copy_cells(filled, generated, missing, table.columns)
        return {self._table_name: filled} if isinstance(data, dict) else filled

    def get_privacy_info(self):
        """What was done to protect the training rows, as plain values (no hidden value).

        The dict is assembled from parts (``_privacy_info_parts``), one per protection.

        Returns:
            dict: ``value_protection`` (``enabled``, ``rare_threshold``, ``threshold_noise``,
            ``hidden_categories`` ``{column: {'categories': n, 'rows': m}}``, ``clipped``
            ``{column: {'low': a, 'high': b}}``: training values beyond each protected bound,
            ``unprotected``: columns whose every value was rare, kept whole),
            ``copy_filter`` (``enabled``, ``holdout_copy_rate``: the share of copies a
            sample may hold, ``holdout_rows`` and ``reference`` it was measured on,
            ``distinct_rows_hashed``, ``last_sample``: ``rows``, ``copies_found``,
            ``rows_resampled``, ``copies_kept``, ``copies_over_limit`` of the last sample
            call) and ``early_stopping`` (``mode`` ``None`` or ``'dcr'``; with ``'dcr'``
            the ``threshold``, ``checks`` (epoch and DCR share), ``stopped_epoch`` and the
            weights ``restored``), and ``differential_privacy``: None without it, else what
            DP-SGD spent (from opacus's accountant): ``epsilon`` (spent), ``target_epsilon``,
            ``delta``, ``noise_multiplier``, ``max_grad_norm``, ``sample_rate``,
            ``expected_batch_size``, ``steps``, ``epochs``, ``accountant``, ``mechanism``,
            ``unit`` and ``metadata_only`` (value sets and ranges from the metadata). Under
            differential privacy the other protections are off (they read the rows outside
            the DP guarantee).

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
        """
        if not self._fitted or self._model is None:
            raise NotFittedError('The privacy information is known after fitting. Please call '
                                 'fit first.')
        info = {}
        for part in self._privacy_info_parts():
            info.update(part())
        return info

    def _privacy_info_parts(self):
        """The callables whose dicts ``get_privacy_info`` merges, in order."""
        return [self._model.privacy_info,
                lambda: {'differential_privacy': self._differential_privacy_info()}]

    def _reset_privacy_counters(self):
        """Start the copy filter's counters of a new sample call."""
        model = getattr(self, '_model', None)
        if model is not None and hasattr(model, 'reset_copy_stats'):
            model.reset_copy_stats()

    def get_column_order(self):
        """The order in which columns are generated, and the dependencies behind it.

        Returns:
            dict: ``column_order`` (the parameter: ``'fixed'``, ``'fd'``, ``'random'`` or
            ``'list'``), ``order`` (``list[str]``, the base order; with ``'random'`` each row
            gets its own permutation) and ``dependencies`` (``list[FunctionalDependency]``
            found for ``'fd'``; print one for ``'X -> Y (g3 error)'``).

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
        """
        if self._model is None:
            raise NotFittedError('The column order is known after fitting. Please call fit first.')
        schema = self._model.schema
        return {'column_order': schema.order_mode, 'order': list(schema.order),
                'dependencies': list(schema.dependencies)}


def _check_sampling_arguments(num_rows=0, batch_size=None, max_tries_per_batch=100):
    """SDV-style errors for sampling arguments that would give the wrong number of rows.

    Raises:
        sdv.errors.SynthesizerInputError: ``num_rows`` not an int >= 0, ``batch_size`` not
            ``None`` or an int >= 1, ``max_tries_per_batch`` not an int >= 1 (named).
    """
    def integer(value):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    for name, value, low in (('num_rows', num_rows, 0),
                             ('max_tries_per_batch', max_tries_per_batch, 1)):
        if not integer(value) or value < low:
            raise SynthesizerInputError(
                f"Invalid value {value!r} for parameter '{name}': it must be an integer "
                f'>= {low}.')
    if batch_size is not None and (not integer(batch_size) or batch_size < 1):
        raise SynthesizerInputError(
            f"Invalid value {batch_size!r} for parameter 'batch_size': it must be None or an "
            'integer >= 1.')


def _copy_cells(target, source, mask, columns):
    """Write ``source``'s cells into ``target`` where ``mask`` is set, in place.

    Args:
        target, source (pandas.DataFrame): same number of rows; ``source`` indexed from 0.
        mask (numpy.ndarray): bool ``(rows, len(columns))``.
        columns (list[str]): the column of each mask column; those missing from either frame
            are skipped. A column whose dtypes differ becomes ``object`` in ``target``.
    """
    for j, column in enumerate(columns):
        rows = mask[:, j]
        if rows.any() and column in target and column in source:
            if target[column].dtype != source[column].dtype:
                target[column] = target[column].astype(object)
            target.loc[rows, column] = source.loc[rows, column].to_numpy()
