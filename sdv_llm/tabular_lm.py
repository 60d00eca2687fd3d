"""The core shared by the front ends: schema + serializer + backbone + automaton + sampler.

``TabularLM`` knows nothing of SDV's classes: it takes a DataFrame of raw modelled columns and
their column metadata, and samples DataFrames of the same columns. ``LLMSynthesizer`` (SDV) and
``TabularLLM`` (scikit-learn) are thin front ends over it.
"""

import copy
import logging
import math
import warnings

import numpy as np
import pandas as pd
import torch

from sdv_llm.decoding.conditions import build_plan, normalize_constraint
from sdv_llm.decoding.dependencies import dependency_mappings
from sdv_llm.decoding.sampler import sample_sequences
from sdv_llm.model.critic import (
    MAX_CRITIC_ROWS,
    MIN_SYNTHETIC_ROWS,
    Critic,
    critic_settings,
)
from sdv_llm.model.precision import compute_dtype
from sdv_llm.model.privacy import (
    COPY_PLAIN_REDRAWS,
    COPY_REDRAWS,
    COPY_TEMPERATURE_STEP,
    CopyFilter,
    DCRStopping,
    dcr_metadata,
    dcr_threshold,
    empty_copy_stats,
    privacy_settings,
    row_keys,
)
from sdv_llm.model.reward import build_reward, finetune, reward_settings
from sdv_llm.model.training import (
    validation_split,
)
from sdv_llm.plugins import codec_hook
from sdv_llm.schema import TableSchema
from sdv_llm.schema.dependencies import dependency_order
from sdv_llm.schema.protection import ValueProtection
from sdv_llm.sequence_lm import (  # noqa: F401  (re-exported: the front ends' settings)
    BATCH_TOKENS,
    DP_BATCH_FACTOR,
    DP_MAX_AUTO_EPOCHS,
    SequenceLM,
    TabularLMConfig,
    _write_json,
    auto_batch_size,
)
from sdv_llm.state import UnsafeStateError

LOGGER = logging.getLogger(__name__)


class TabularLM(SequenceLM):
    """A causal language model of the rows of one table, with constrained sampling.

    With ``config.differential_privacy`` the fit is (epsilon, delta)-differentially private
    with respect to one training row (add or remove one row; the number of rows is treated
    as public, as opacus's sample rate does): codecs from the metadata only, a data-free
    column order (``'fd'`` becomes ``'fixed'``; no dependency tables), no decoding rules of
    constraints (they are read from the rows), and DP-SGD with one row per example
    (``sdv_llm.model.training.train_backbone``). Sampling is post-processing and spends
    nothing.

    Args:
        config (TabularLMConfig): settings.

    Attributes (after ``fit``):
        schema (TableSchema), serializer (CompactSerializer), backbone_config (BackboneConfig),
        training_config (TrainingConfig), model (transformers.GPT2LMHeadModel),
        loss_values (pandas.DataFrame): ``Epoch, Step, Loss, Validation Loss, Seconds``
        (and ``Epsilon`` under differential privacy),
        privacy (dict or None): what differential privacy spent (``PrivateTraining.report``:
        ``epsilon``, ``delta``, ``noise_multiplier``, ``max_grad_norm``, ``sample_rate``,
        ``steps``, ...), None without it,
        copy_filter (CopyFilter or None), privacy_report (dict): what ``privacy`` did at fit
        (``sdv_llm.model.privacy``; read with ``privacy_info``),
        pretrain_rows (int or None): baseline rows trained on first (mixed training),
        critic (Critic or None): the critic of ``critic_filter`` (``sdv_llm.model.critic``),
        reward_history (pandas.DataFrame or None): one row per batch of reward fine-tuning
        (``sdv_llm.model.reward.finetune``: ``Step``, ``Reward``, ``KL``, ``Shaped Reward``,
        ``Critic AUC``, ``Updated``, ``Seconds``); None when ``reward_finetuning`` is off.
    """

    # ------------------------------------------------------------------ fitting
    def fit(self, data, columns_metadata, enforce_min_max_values=True, rules=(), precedence=(),
            checkpoint_dir=None, restrictions=None, pretrain_data=None):
        """Fit codecs, build the vocabulary and automaton, and train the backbone.

        Args:
            data (pandas.DataFrame): raw training rows of the modelled columns (at least one row).
            columns_metadata (dict[str, dict]): SDV column metadata by column name.
            enforce_min_max_values (bool): bound numbers and datetimes to their ranges.
            rules (list): decoding rules of SDV constraints
                (``sdv_llm.decoding.constraints.constraint_rules``), enforced while sampling
                like the exact functional dependencies.
            precedence (list[tuple[str, str]]): ``(before, after)`` columns that the ``'fd'``
                and ``'fixed'`` orders respect (a constraint's determining columns first).
            checkpoint_dir (str or pathlib.Path or None): write a training checkpoint there
                after every epoch and resume from the one found there
                (``sdv_llm.model.checkpoint``).
            restrictions (callable or None): ``codecs -> {column: values}``, the value sets
                that columns keep on every sampled row
                (``sdv_llm.decoding.constraints.constraint_restrictions``).
            pretrain_data (pandas.DataFrame or None): rows of a baseline synthesizer, same
                columns, to train on before ``data`` (mixed training, ``sdv_llm.mixed``). The
                codecs, vocabulary and validation split come from ``data`` alone; baseline
                rows a codec cannot write exactly are dropped.

        Returns:
            TabularLM: ``self``.

        Raises:
            sdv.errors.InvalidDataError: a column cannot be modelled (named in the message);
                under differential privacy, a column whose metadata lacks what its codec
                needs (the keys named).
            ValueError: invalid settings; decoding rules or ``pretrain_data`` under
                differential privacy.
        """
        config = self.config
        privacy = privacy_settings(config.privacy)
        seed = self._training_seed(checkpoint_dir)
        self.columns = list(data.columns)
        dp = self._dp_settings(len(data))
        if dp is not None:
            if config.merge_sub_tokens:
                raise ValueError('merge_sub_tokens=True trains a sub-token layer that opacus '
                                 'does not clip per row; it is not supported with differential '
                                 'privacy.')
            if rules:
                raise ValueError('Constraints are enforced with values read from the training '
                                 'rows; they are not supported with differential privacy.')
            if pretrain_data is not None:
                raise ValueError('Mixed training pre-trains on rows of a baseline fitted on the '
                                 'training rows outside the DP guarantee; it is not supported '
                                 'with differential privacy.')
            if config.critic_filter not in (None, False, 'auto'):
                raise ValueError('The critic filter is a classifier fitted on the training rows '
                                 'outside the DP guarantee; it is not supported with '
                                 'differential privacy.')
            if reward_settings(config.reward_finetuning) is not None:
                raise ValueError('Reward fine-tuning rewards rows for resembling the training '
                                 'rows outside the DP guarantee; reward_finetuning is not '
                                 'supported with differential privacy.')
            # Value protection and the copy filter read the rows outside the DP guarantee
            # (counts, row hashes); DP itself bounds what a row can show.
            privacy = dict(privacy, value_protection=False, copy_filter=False,
                           early_stopping=None)
        protection = None
        if privacy['value_protection']:
            protection = ValueProtection(privacy['rare_threshold'], privacy['threshold_noise'],
                                         seed)
        self.schema = TableSchema.fit(data, columns_metadata, enforce_min_max_values,
                                      self._codec_options(), config.column_order, codec_hook(),
                                      protection=protection)
        if precedence and self.schema.order_mode in ('fd', 'fixed'):
            self.schema.order = dependency_order(self.schema.order, self.schema.dependencies,
                                                 precedence)
        self.serializer = self._build_serializer()
        reward = reward_settings(config.reward_finetuning)
        if reward is not None and (not self.backbone.supports_reward or config.merge_sub_tokens):
            raise ValueError('reward_finetuning supports the embedded decoder with compact rows '
                             'only: not a pretrained backbone nor merge_sub_tokens.')
        encode_rows = self._row_encoder(self.serializer.encode_blocks(data))
        self.schema.release_training_values()  # hidden values: in the blocks, not the model
        self.column_restrictions = dict(restrictions(self.schema.codecs) if restrictions else {})
        self.dependency_mappings = (dependency_mappings(data, self.schema.dependencies)
                                    if self.schema.order_mode == 'fd' else []) + list(rules)
        if protection is not None:
            self.dependency_mappings = _visible_mappings(self.schema, self.dependency_mappings)
        self._pretraining = None
        if pretrain_data is not None:
            rows = pretrain_data[self.columns]
            keep = np.ones(len(rows), dtype=bool)
            for column in self.schema.order:
                keep &= self.schema.codecs[column].admissible(rows[column])
            if keep.any():
                rows = rows[keep].reset_index(drop=True)
                self._pretraining = (self._row_encoder(self.serializer.encode_blocks(rows)),
                                     len(rows))
        self._fit_privacy(privacy, data, columns_metadata, seed)
        try:
            self._train(encode_rows, len(data), checkpoint_dir, seed=seed)
        finally:
            self.__dict__.pop('_monitor', None)
            # The baseline's encoded rows (a closure over them) are not kept: a fitted model
            # is pickled, and they are training input only.
            pretraining = self.__dict__.pop('_pretraining', None)
        self.pretrain_rows = None if pretraining is None else int(pretraining[1])
        sdtypes = {c: columns_metadata.get(c, {}).get('sdtype') for c in self.columns}
        self._fit_reward(reward, data, sdtypes, seed)
        self._fit_critic(data, sdtypes, seed)
        return self

    def _fit_reward(self, settings, data, sdtypes, seed):
        """Fine-tune the trained model on a similarity reward (``reward_finetuning``,
        ``sdv_llm.model.reward``); ``reward_history`` is its per-step record, None when off."""
        self.reward_history = None
        if settings is None:
            return
        reward = build_reward(settings, data.reset_index(drop=True), sdtypes, seed)
        generator = torch.Generator(device=self.device).manual_seed(seed + 104_729)
        self.reward_history = finetune(self.model, lambda rows: self._draw_paths(rows, generator),
                                       reward, settings, self.device, self.config.verbose)
        first, last = self.reward_history.iloc[0], self.reward_history.iloc[-1]
        LOGGER.info('reward fine-tuning: reward %.4f -> %.4f, KL %.4f, critic AUC %.3f -> %.3f',
                    first['Reward'], last['Reward'], last['KL'], first['Critic AUC'],
                    last['Critic AUC'])
        self.set_random_state(seed)

    def _draw_paths(self, num_rows, generator):
        """Sample rows for reward fine-tuning, with their plan and token ids.

        Temperature 1 and no top-p (the distribution whose log-likelihood the stage
        computes), float32, no filters.

        Args:
            num_rows (int): rows.
            generator (torch.Generator): the random source, on ``self.device``.

        Returns:
            tuple: ``(rows, plan, ids)``: a DataFrame of ``num_rows`` raw rows, the
            ``SamplingPlan`` and the int64 ``(num_rows, length)`` token ids after ``<bos>``.
        """
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=self.device))
        plan = build_plan(self.serializer, self.automaton, num_rows, np.random.default_rng(seed),
                          self.schema.order_mode == 'random',
                          standing=getattr(self, 'column_restrictions', None))
        plan.automaton.to(self.device)
        plan.dependencies = self.dependency_table
        ids = sample_sequences(self.model, plan, int(self.config.sample_batch_size),
                               self.device, generator, 1.0, 1.0,
                               self.serializer.max_length - len(self.serializer.prompt),
                               workers=getattr(self.config, 'sample_processes', None))
        rows = self.serializer.decode(ids, orders=plan.columns[:, :-1],
                                      rng=np.random.default_rng([seed, 1]))[self.columns]
        return rows, plan, ids

    def _fit_critic(self, data, sdtypes, seed):
        """Fit the critic of ``critic_filter`` on the training rows against sampled rows
        (``sdv_llm.model.critic``); ``critic`` is None when it is off (``'auto'`` here: the
        front end resolves it; an explicit critic under DP was refused by ``fit``)."""
        self.critic = None
        chosen = critic_settings(self.config.critic_filter)
        if chosen is None:
            return
        rng = np.random.default_rng(seed % 2**32)
        most = min(chosen['rows'] or MAX_CRITIC_ROWS, MAX_CRITIC_ROWS)
        real = data if len(data) <= most else data.iloc[
            np.sort(rng.choice(len(data), most, replace=False))]
        synthetic = self._sample_unfiltered(
            chosen['rows'] or max(MIN_SYNTHETIC_ROWS, len(real)), seed + 7919)
        self.critic = Critic.fit(real.reset_index(drop=True), synthetic, sdtypes, chosen, seed)
        LOGGER.info('critic: cross-validated AUC %.3f on %d real and %d sampled rows, %d '
                    'features', self.critic.report['auc'], len(real), len(synthetic),
                    self.critic.report['features'])

    def _sample_unfiltered(self, num_rows, seed):
        """``num_rows`` rows drawn with their own seed, without the critic or the copy filter
        (what fits the critic and what DCR early stopping measures); the sampling generator
        is left as it was."""
        saved = self._generator
        self._generator = torch.Generator(device=self.device).manual_seed(seed)
        try:
            return self._sample_plan(num_rows, None, None, None, None, filters=False)
        finally:
            self._generator = saved

    def _row_encoder(self, blocks):
        """``encode_rows(index, rng)`` over the encoded blocks of a table (see
        ``train_backbone``), each row in the order ``training_orders`` draws."""
        return self.serializer.row_encoder(blocks, self.training_orders)

    def _fit_privacy(self, privacy, data, columns_metadata, seed):
        """Fit the copy filter and prepare DCR early stopping (``sdv_llm.model.privacy``).

        Raises:
            ValueError: ``early_stopping='dcr'`` without validation rows.
        """
        self.copy_filter = None
        if privacy['copy_filter']:
            self.copy_filter = CopyFilter.fit(row_keys(self.schema, data, self.columns))
        self.copy_stats = empty_copy_stats()
        self.privacy_report = {
            'settings': dict(privacy),
            'value_protection': self.schema.protection_summary()
            if privacy['value_protection'] else None,
            'early_stopping': {'mode': None},
        }
        if privacy['early_stopping'] != 'dcr':
            return
        valid_index, train_index = (index.numpy() for index in validation_split(
            len(data), self.config.validation_fraction, torch.Generator().manual_seed(seed)))
        if not len(valid_index) or len(valid_index) > len(train_index):
            raise ValueError("privacy={'early_stopping': 'dcr'} compares sampled rows with the "
                             'validation rows: it needs 0 < validation_fraction <= 0.5 and at '
                             'least 20 training rows.')
        from sdv_llm.evaluation.privacy import dcr_share

        metadata = dcr_metadata(columns_metadata, self.columns)
        train, valid = data.iloc[train_index], data.iloc[valid_index]
        rows, share_seed = privacy['dcr_rows'], seed % 2**32
        # The shares of real rows: unseen rows (half the validation rows against the other
        # half: no copy) and training rows (copies).
        rng = np.random.default_rng(share_seed)
        halves = np.array_split(rng.permutation(len(valid)), 2)
        null_share = dcr_share(train, valid.iloc[halves[0][:rows]], valid.iloc[halves[1]],
                               metadata, 'table', seed=share_seed)
        copied = rng.choice(len(train), size=min(rows, len(train)), replace=False)
        copy_share = dcr_share(train, train.iloc[copied], valid, metadata, 'table',
                               seed=share_seed)

        def measure(epoch):
            synthetic = self._sample_unfiltered(rows, seed + epoch + 1)
            return dcr_share(train, synthetic, valid, metadata, 'table', seed=share_seed)

        self._monitor = DCRStopping(
            measure, dcr_threshold(privacy, null_share, copy_share), privacy['dcr_every'],
            privacy['dcr_patience'], {'null_share': null_share, 'copy_share': copy_share})

    def training_orders(self, num_rows, rng):
        """Column order of each training row for one epoch.

        ``'random'``: a new permutation per row (GReaT). Otherwise the base order, except that a
        share ``conditional_fraction`` of the rows has a random subset of its columns (1 to all
        but one, uniformly many) moved to the front in random order, so that sampling with
        those columns first (conditions, imputation) stays in the training distribution.

        Args:
            num_rows (int): rows.
            rng (numpy.random.Generator): random source.

        Returns:
            numpy.ndarray or None: int ``(num_rows, num_columns)`` column indices into
            ``schema.order``; ``None`` for the base order on every row.
        """
        num_columns = self.serializer.num_columns
        if self.serializer.fixed_order:
            return None
        if self.schema.order_mode == 'random':
            return np.argsort(rng.random((num_rows, num_columns)), axis=1)
        fraction = self.config.conditional_fraction
        if not fraction or num_columns < 2:
            return None
        moved = rng.random(num_rows) < fraction
        size = rng.integers(1, num_columns, size=num_rows)[:, None]
        shuffled = np.argsort(rng.random((num_rows, num_columns)), axis=1)
        front = np.zeros((num_rows, num_columns), dtype=bool)
        np.put_along_axis(front, shuffled, np.arange(num_columns)[None, :] < size, axis=1)
        front &= moved[:, None]
        # Front columns in their shuffled rank, then the others in the base order.
        rank = np.empty_like(shuffled)
        np.put_along_axis(rank, shuffled, np.arange(num_columns)[None, :], axis=1)
        key = np.where(front, rank, num_columns + np.arange(num_columns)[None, :])
        return np.argsort(key, axis=1)

    # ----------------------------------------------------------------- sampling
    def sample(self, num_rows, conditions=None, batch_size=None):
        """Sample rows; every row is valid by construction and meets the conditions.

        Args:
            num_rows (int): rows to return.
            conditions (dict or None): ``{column: condition}`` for every row: a value, a list
                of values, or a ``(low, high)`` range (numerical and datetime columns).
            batch_size (int or None): rows decoded together (default ``sample_batch_size``).

        Returns:
            pandas.DataFrame: exactly ``num_rows`` rows with the training columns, raw values.

        Raises:
            ValueError: a condition names an unknown column or a value the column cannot take.
        """
        constraints, fixed = {}, {}
        for column, condition in (conditions or {}).items():
            kind, *spec = normalize_constraint(column, condition)
            if kind == 'value' and self.serializer.fixed_order:
                constraints[column] = ('values', [spec[0]])  # kept in place (CSV)
            elif kind == 'value':
                fixed[column] = spec[0]
            else:
                constraints[column] = (kind, *spec)
        known = pd.DataFrame({c: [v] * int(num_rows) for c, v in fixed.items()},
                             index=range(int(num_rows))) if fixed else None
        return self._sample_plan(int(num_rows), known, None, constraints, batch_size)

    def sample_known(self, known, known_mask=None, batch_size=None, allow_null=True):
        """Sample the other columns of rows whose known cells are given, in one batched pass.

        Args:
            known (pandas.DataFrame): one row per row to sample, columns among the modelled
                ones; different rows may know different values.
            known_mask (numpy.ndarray or None): bool ``known.shape``: which cells are known
                (default all; ``False`` cells are generated, as ``impute`` needs).
            batch_size (int or None): rows decoded together.
            allow_null (bool): whether generated cells may be missing (``False`` for
                imputation).

        Returns:
            pandas.DataFrame: ``len(known)`` rows with the training columns; the known cells
            hold the given values.

        Raises:
            ValueError: an unknown column or a value the column cannot take (named).
        """
        return self._sample_plan(len(known), known, known_mask, None, batch_size, allow_null)

    def _sample_plan(self, num_rows, known, known_mask, constraints, batch_size,
                     allow_null=True, filters=True):
        """Draw the rows of a plan (through the critic, ``critic_filter``), then redraw
        copies of training rows (``copy_filter``).

        Args:
            num_rows (int): rows.
            known, known_mask: known cells (``sample_known``), or None.
            constraints (dict or None): conditions (``sample``).
            batch_size (int or None): rows decoded together.
            allow_null (bool): whether generated cells may be missing.
            filters (bool): apply the critic and the copy filter (off for the rows that fit
                the critic and for DCR checks while training).

        Returns:
            pandas.DataFrame: ``num_rows`` rows with the training columns.
        """
        flag = bool(filters and num_rows and getattr(self, 'copy_filter', None) is not None)
        if getattr(self, 'critic', None) is not None and filters and num_rows:
            rows, copies = self._draw_criticized(num_rows, known, known_mask, constraints,
                                                 batch_size, allow_null, flag)
        else:
            rows, copies = self._draw_plan(num_rows, known, known_mask, constraints, batch_size,
                                           allow_null, flag_copies=flag)
        if not flag:
            return rows
        return self._filter_copies(rows, copies, known, known_mask, constraints, batch_size,
                                   allow_null)

    def _draw_criticized(self, num_rows, known, known_mask, constraints, batch_size,
                         allow_null, flag_copies=False):
        """Draw ``critic.ratio`` times the rows and keep those the critic finds most real.

        Without known cells (or with the same known cells on every row) ``ceil(ratio * n)``
        rows are drawn and ``n`` kept; otherwise each row is drawn ``ceil(ratio)`` times and
        one draw kept (``sdv_llm.model.critic``).

        Returns:
            tuple: ``num_rows`` rows (a DataFrame indexed from 0, in the drawn order) and
            their copy flags (``_draw_plan``).
        """
        critic = self.critic
        rng = np.random.default_rng(self._draw_seed())
        same = known is None or (
            len(known.drop_duplicates()) == 1
            and (known_mask is None or (np.asarray(known_mask) == np.asarray(known_mask)[0]).all()))
        if same:
            drawn = critic.drawn_rows(num_rows)
            more = None if known is None else known.iloc[[0] * drawn].reset_index(drop=True)
            more_mask = None if known_mask is None else np.repeat(
                np.asarray(known_mask)[:1], drawn, axis=0)
            rows, copies = self._draw_plan(drawn, more, more_mask, constraints, batch_size,
                                           allow_null, flag_copies=flag_copies)
            keep = critic.select(rows, num_rows, rng)
        else:
            draws = math.ceil(critic.ratio)
            repeat = np.repeat(np.arange(num_rows), draws)
            more_mask = None if known_mask is None else np.asarray(known_mask)[repeat]
            rows, copies = self._draw_plan(
                num_rows * draws, known.iloc[repeat].reset_index(drop=True), more_mask,
                constraints, batch_size, allow_null, flag_copies=flag_copies)
            keep = critic.select_per_row(rows, num_rows, draws, rng)
        return rows.iloc[keep].reset_index(drop=True), None if copies is None else copies[keep]

    def _filter_copies(self, rows, copies, known, known_mask, constraints, batch_size,
                       allow_null):
        """Redraw the rows equal to a training row beyond the holdout copy rate.

        ``copies`` (bool ``(len(rows),)``) flags the rows equal to a training row, found where
        the rows were drawn (``_draw_plan(flag_copies=True)``).

        The first ``CopyFilter.allowed(len(rows))`` copies stay; the others are drawn again
        (same known cells and conditions), up to ``COPY_REDRAWS`` times, the temperature
        rising by ``COPY_TEMPERATURE_STEP`` per redraw after the first
        ``COPY_PLAIN_REDRAWS``. Rows whose every cell is known are the caller's and stay. Rows
        still copies after the last redraw are kept (a row whose known cells leave no other
        value), counted in ``copies_over_limit`` and named by a ``UserWarning``.

        Returns:
            pandas.DataFrame: ``len(rows)`` rows, indexed from 0.
        """
        copy_filter = self.copy_filter
        stats = self.__dict__.setdefault('copy_stats', empty_copy_stats())
        num_rows = len(rows)
        complete = self._complete_rows(known, known_mask)
        free = np.ones(num_rows, dtype=bool) if complete is None else ~complete
        copies = np.asarray(copies, dtype=bool) & free
        budget = copy_filter.allowed(num_rows)
        stats['rows'] += num_rows
        stats['copies_found'] += int(copies.sum())
        temperature = self.config.temperature
        for attempt in range(COPY_REDRAWS):
            redo = np.flatnonzero(copies)[budget:]
            if not len(redo):
                break
            if attempt >= COPY_PLAIN_REDRAWS:
                temperature *= COPY_TEMPERATURE_STEP
            redrawn, again = self._draw_plan(
                len(redo), None if known is None else known.iloc[redo].reset_index(drop=True),
                None if known_mask is None else np.asarray(known_mask)[redo], constraints,
                batch_size, allow_null, temperature, flag_copies=True)
            stats['rows_resampled'] += len(redo)
            copies[redo] = again
            redrawn.index = redo
            rows = pd.concat([rows.drop(index=redo), redrawn]).sort_index()
        left = int(copies.sum())
        stats['copies_kept'] += min(left, budget)
        over = max(0, left - budget)
        stats['copies_over_limit'] += over
        if over:
            warnings.warn(f'{over} of {num_rows} sampled rows still equal a training row after '
                          f'{COPY_REDRAWS} redraws (the copy filter allows {budget}); they are '
                          'kept. Their known values or conditions may leave no other row.',
                          UserWarning, stacklevel=4)
        return rows.reset_index(drop=True)

    def reset_copy_stats(self):
        """Zero the copy filter's counters (the front ends call it as a sample call starts)."""
        self.copy_stats = empty_copy_stats()

    def privacy_info(self):
        """What the ``privacy`` settings did (``sdv_llm.model.privacy``), as plain values.

        Returns:
            dict: ``value_protection`` (``enabled``, the ``rare_threshold`` and
            ``threshold_noise`` settings, ``hidden_categories`` ``{column: {'categories',
            'rows'}}``, ``clipped`` ``{column: {'low', 'high'}}`` counts of training values
            beyond the protected bounds, ``unprotected`` columns), ``copy_filter``
            (``enabled``, ``holdout_copy_rate``, ``holdout_rows``, ``reference``,
            ``distinct_rows_hashed``, ``last_sample``: the counters of the last sample call:
            ``rows``, ``copies_found``, ``rows_resampled``, ``copies_kept``,
            ``copies_over_limit``) and ``early_stopping`` (``mode``: ``None`` or ``'dcr'``;
            with ``'dcr'``: ``threshold``, ``every``, ``patience``, ``checks``,
            ``stopped_epoch``, ``restored``). Never a hidden value.
        """
        report = getattr(self, 'privacy_report', None) or {}
        settings = report.get('settings') or privacy_settings(False)
        protection = report.get('value_protection')
        copy_filter = getattr(self, 'copy_filter', None)
        return {
            'value_protection': {
                'enabled': protection is not None,
                'rare_threshold': settings['rare_threshold'],
                'threshold_noise': settings['threshold_noise'],
                **(protection or {'hidden_categories': {}, 'clipped': {}, 'unprotected': []}),
            },
            'copy_filter': {
                'enabled': copy_filter is not None,
                'holdout_copy_rate': None if copy_filter is None else copy_filter.holdout_rate,
                'holdout_rows': None if copy_filter is None else copy_filter.holdout_rows,
                'reference': None if copy_filter is None else copy_filter.reference,
                'distinct_rows_hashed': 0 if copy_filter is None else len(copy_filter.hashes),
                'last_sample': dict(getattr(self, 'copy_stats', None) or empty_copy_stats()),
            },
            'early_stopping': copy.deepcopy(report.get('early_stopping') or {'mode': None}),
        }

    def _draw_plan(self, num_rows, known, known_mask, constraints, batch_size,
                   allow_null=True, temperature=None, flag_copies=False):
        """Draw ``num_rows`` rows of a plan: sampled, decoded and, with ``flag_copies``,
        checked against the copy filter's training hashes, batch by batch in the sampling
        processes (``sdv_llm.decoding.workers``).

        Returns:
            tuple: the rows (a DataFrame with the training columns, indexed from 0) and bool
            ``(num_rows,)`` flags of the rows equal to a training row (``False`` for rows whose
            every cell is known), or ``None`` without ``flag_copies``.
        """
        if self.model is None:
            raise RuntimeError('The model has not been fitted.')
        if self._generator is None:
            self.set_random_state(None)
        complete = self._complete_rows(known, known_mask)
        if complete is not None and complete.any():
            # Rows whose every cell is known have nothing to sample: they are returned as given
            # (after the same checks as other known values).
            for column in self.schema.order:
                self.schema.codecs[column].check_values(known.loc[complete, column],
                                                        known=True)
            rest = ~complete
            flags = np.zeros(num_rows, dtype=bool) if flag_copies else None
            if rest.any():
                sampled, copies = self._draw_plan(
                    int(rest.sum()), known[rest].reset_index(drop=True),
                    None if known_mask is None else np.asarray(known_mask)[rest], constraints,
                    batch_size, allow_null, temperature, flag_copies)
                if flag_copies:
                    flags[rest] = copies
                out = pd.concat([known[complete].assign(_row=np.flatnonzero(complete)),
                                 sampled.assign(_row=np.flatnonzero(rest))])
                return out.sort_values('_row').drop(columns='_row').reset_index(
                    drop=True)[self.columns], flags
            return known.reset_index(drop=True)[self.columns], flags
        seed = self._draw_seed()
        plan = build_plan(self.serializer, self.automaton, num_rows, np.random.default_rng(seed),
                          self.schema.order_mode == 'random', known, known_mask, constraints,
                          allow_null, getattr(self, 'column_restrictions', None))
        plan.automaton.to(self.device)
        plan.dependencies = self.dependency_table

        copy_filter = self.copy_filter if flag_copies else None

        def decode(first, last, ids):  # in the process that drew the batch
            # Known cells come back as the values given: check_values admitted only values
            # that encode and decode exactly.
            rows = self.serializer.decode(
                ids, orders=plan.columns[first:last, :-1],
                rng=np.random.default_rng([seed, 1, first]),
                known=None if known is None else known.iloc[first:last].reset_index(drop=True),
                known_mask=None if known_mask is None else np.asarray(known_mask)[first:last],
            )[self.columns]
            if copy_filter is None:
                return rows, None
            return rows, copy_filter.copies(row_keys(self.schema, rows, self.columns))

        parts = sample_sequences(
            self.model, plan, int(batch_size or self.config.sample_batch_size), self.device,
            self._generator, temperature or self.config.temperature, self.config.top_p,
            self.serializer.max_length - len(self.serializer.prompt),
            amp_dtype=compute_dtype(self.device, self.config.precision),
            workers=getattr(self.config, 'sample_processes', None),  # None in older model files
            finish=decode,
        )
        rows = parts[0][0] if len(parts) == 1 else pd.concat([p[0] for p in parts],
                                                             ignore_index=True)
        return rows, None if copy_filter is None else np.concatenate([p[1] for p in parts])

    def _complete_rows(self, known, known_mask):
        """Bool ``(rows,)``: rows of ``known`` whose every modelled cell is known, or None."""
        if known is None or not set(self.schema.order) <= set(known.columns):
            return None
        if known_mask is None:
            return np.ones(len(known), dtype=bool)
        mask = pd.DataFrame(np.asarray(known_mask, dtype=bool), columns=known.columns)
        return mask[self.schema.order].all(axis=1).to_numpy()


    # ------------------------------------------------------------ model files
    @classmethod
    def _state_classes(cls):
        return [CopyFilter, Critic]

    def _files_state(self):
        """The row model's part of ``model.json``: the standing value sets, the privacy
        state (the copy filter's salted row hashes and what the protections did), the critic
        and the reward fine-tuning history."""
        return {
            'column_restrictions': dict(getattr(self, 'column_restrictions', {})),
            'privacy': {'copy_filter': getattr(self, 'copy_filter', None),
                        'report': getattr(self, 'privacy_report', None),
                        'differential_privacy': getattr(self, 'privacy', None)},
            'critic': getattr(self, 'critic', None),
            'reward_history': None if getattr(self, 'reward_history', None) is None
            else self.reward_history.to_dict(orient='list'),
        }

    def _restore_files_state(self, state):
        self.column_restrictions = dict(state.get('column_restrictions', {}))
        privacy = state.get('privacy') or {}
        self.copy_filter = privacy.get('copy_filter')
        if self.copy_filter is not None and not isinstance(self.copy_filter, CopyFilter):
            raise UnsafeStateError('model.json holds an invalid copy filter.')
        self.privacy_report = privacy.get('report')
        self.copy_stats = empty_copy_stats()
        self.critic = state.get('critic')
        if self.critic is not None and not isinstance(self.critic, Critic):
            raise UnsafeStateError('model.json holds an invalid critic.')
        history = state.get('reward_history')
        self.reward_history = None if history is None else pd.DataFrame(history)


def _visible_mappings(schema, mappings):
    """Dependency maps without the values value protection hides (nor extreme ones).

    The maps of exact dependencies and of decoding constraints are learned on the training
    rows and saved with the model; with value protection, an entry whose determinant the
    codec no longer admits is dropped, and so is a target value it does not admit (a value
    set keeps its admitted values; a range is bounded by the codec already).

    Args:
        schema (TableSchema): fitted codecs (their hidden values released).
        mappings (list[tuple[str, str, dict]]): ``(determinant, dependent, {x: y})``.

    Returns:
        list[tuple[str, str, dict]]
    """
    from sdv_llm.decoding.constraints import Allowed

    kept = []
    for determinant, dependent, mapping in mappings:
        keys = list(mapping)
        admitted = schema.codecs[determinant].admissible(pd.Series(keys, dtype=object))
        target_codec = schema.codecs[dependent]
        visible = {}
        for key, ok in zip(keys, admitted):
            target = mapping[key]
            if not ok:
                continue
            if isinstance(target, Allowed) and target.kind == 'values':
                values = list(target.args[0])
                allowed = target_codec.admissible(pd.Series(values, dtype=object))
                values = [v for v, fine in zip(values, allowed) if fine]
                if not values:
                    continue
                target = Allowed('values', (tuple(values),))
            elif not isinstance(target, Allowed) and \
                    not target_codec.admissible(pd.Series([target], dtype=object))[0]:
                continue
            visible[key] = target
        kept.append((determinant, dependent, visible))
    return kept

