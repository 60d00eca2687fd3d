"""LLMMultiTableSynthesizer: the SDV 2.0 multi-table synthesizer, children generated per parent row."""

import logging
import warnings
from copy import deepcopy

import numpy as np
import pandas as pd
from sdv.metadata import Metadata
from sdv.multi_table.base import BaseMultiTableSynthesizer

from sdv_llm.model_files import VersionedModelFiles
from sdv_llm.parameters import MULTI_TABLE_PARAMETERS, build_config, validate_parameters
from sdv_llm.relational.keys import (
    Relationship,
    assign_keys,
    children_counts,
    choose_conditioning,
    expected_children,
    key_dtype,
    topological_order,
)

LOGGER = logging.getLogger(__name__)


class LLMMultiTableSynthesizer(VersionedModelFiles, BaseMultiTableSynthesizer):
    """Synthesize a relational dataset: root tables row by row, child tables parent by parent.

    Every table gets an ``LLMSynthesizer`` (its parameters through ``set_table_parameters``).
    A table without a parent is modelled as a single table. A child table is generated from
    one conditioning parent: for each parent row, one sequence holds the parent row's values
    (the context) and then its child rows (``sdv_llm.relational.ChildrenLM``). Grandchildren
    are generated from their sampled parent rows, level by level.

    * Number of children: every parent table gets a column per relationship,
      ``__<child>__<foreign key>__num_rows`` (as HMA), modelled with the parent's other
      columns, so the count is learned jointly with the parent's values. When sampling, the
      counts of the sampled parent rows are moved inside the real minimum and maximum until
      they add up to the real children per parent times the sampled parents
      (``children_counts``): every table's size follows ``scale`` and every parent's count is
      inside the real range (SDMetrics' CardinalityBoundaryAdherence is 1.0). The count
      columns are not returned.

    * Conditioning parent: the parent with the most child rows per parent row among those
      with at most ``max_children`` on average, unless ``conditioning_parents`` names one
      (``choose_conditioning``).
    * Other foreign keys (a second parent, such as berka ``disp.client_id``) are drawn among
      the sampled parent keys, each parent as often as its sampled count says (moved to the
      child's size the same way); they do not depend on the child row's values
      (``assign_keys``).
    * Missing foreign keys keep the real share: children without a conditioning parent are
      generated like the children of random parents and then detached.
    * Primary keys are generated unique by SDV; every foreign key refers to a sampled row.
    * Self-references (chinook ``employees.ReportsTo``), which SDV metadata cannot hold, are
      removed from the relationships with a warning and their keys assigned like a second
      parent's, among the table's own sampled keys (chains may contain cycles).
    * Tables with a composite primary key (chinook ``playlist_track``) are left out with a
      warning (SDV Community does not support composite keys); ``fit`` ignores their data and
      ``sample`` does not return them. Relationships to them are dropped with them.
    * Constraints are not applied across tables.
    * Differential privacy (``differential_privacy={'epsilon': 3.0, ...}``): the budget of the
      whole dataset. Each of the ``k`` modelled tables (tables with modelled columns or
      children) is fitted with ``epsilon / k`` and ``delta / k`` (``LLMSynthesizer``'s
      ``differential_privacy``; ``set_table_parameters`` can give a table another share), so
      by basic composition (Dwork and Roth 2014, Theorem 3.16) the dataset's epsilon and
      delta are at most the sums that ``get_privacy_info`` reports. Each table's guarantee is
      for one training sequence of its model: a row of a root table, a parent row with its
      children (at most ``max_children``, the rest left out; no chunking) for a child table;
      the sum covers an individual with one such sequence per table, and one with several
      sequences in a table (a grandparent whose children have children) by group privacy.
      Nothing about the relationships is learned from the rows outside the models: the
      conditioning parent is ``conditioning_parents``' choice or the first in metadata order;
      each parent's number of children is its model's sampled count (clipped to
      ``[0, max_children]``; the counts are not moved to the real total, so a child table's
      size is the sum of the sampled counts); other foreign keys are drawn the same way;
      no foreign key is left missing; self-references are a random permutation of the keys.
      Root table sizes follow the real ones (the row count is public, as in opacus).

    Args:
        metadata (sdv.metadata.Metadata): tables and relationships.
        locales (list or str): locales of the PII fakers. Default ``['en_US']``.
        verbose (bool): progress bars. Default False.
        enable_gpu (bool): default of every table's ``enable_gpu``. Default True.
        random_state (int or None): default of every table's ``random_state``. Default None.
        conditioning_parents (dict[str, str] or None): ``{child table: parent table}`` to
            generate a child from; other children follow the rule above. Default None.
        max_children (int): most child rows in one sequence; parents with more are split into
            chunks (see ``ChildrenLM``). Default 32.
        max_sequence_length (int): most tokens in one children sequence; lowers
            ``max_children`` for tables with long rows. Default 512.
        grandparent_context (bool): a grandchild's context also holds its grandparent row
            (the conditioning parent's own conditioning parent), as columns
            ``<grandparent table>.<column>``; like the parent's, columns longer than 16
            tokens are left out, so it is a summary of short values. Default False.
        differential_privacy (dict or None): the DP budget of the whole dataset
            (``{'epsilon': 3.0, 'delta': 1e-5, ...}``, see ``LLMSynthesizer``), split evenly
            over the modelled tables; see above. Default None.

    Raises:
        sdv.errors.SynthesizerInputError: an invalid parameter, named in the message.
    """

    def __init__(self, metadata, locales=['en_US'], verbose=False, enable_gpu=True,  # noqa: B006
                 random_state=None, conditioning_parents=None, max_children=32,
                 max_sequence_length=512, grandparent_context=False, differential_privacy=None):
        # Imported here, not at module level: sdv loads this module through its entry point
        # while sdv_llm.single_table may itself be importing sdv (a circular import).
        from sdv_llm.single_table import LLMSynthesizer

        self._synthesizer = LLMSynthesizer
        # Defaults and constraints: sdv_llm.parameters.MULTI_TABLE_PARAMETERS (tested).
        validate_parameters(locals(), MULTI_TABLE_PARAMETERS)
        metadata, self._self_references, self._left_out = _supported(metadata)
        self.enable_gpu = enable_gpu
        self.random_state = random_state
        self.conditioning_parents = conditioning_parents
        self.max_children = max_children
        self.max_sequence_length = max_sequence_length
        self.grandparent_context = grandparent_context
        self.differential_privacy = differential_privacy
        # The small-table strategies ('auto' in LLMSynthesizer) are off for the tables of a
        # relational fit (not measured there); set_table_parameters turns them on.
        self.DEFAULT_SYNTHESIZER_KWARGS = {'enable_gpu': enable_gpu, 'verbose': verbose,
                                           'random_state': random_state,
                                           'mixed_training': None, 'critic_filter': None}
        if differential_privacy is not None:
            self.DEFAULT_SYNTHESIZER_KWARGS['differential_privacy'] = _table_share(
                differential_privacy, len(_modelled_tables(metadata)))
        super().__init__(metadata, locales=locales)
        self.verbose = verbose
        self._table_sizes = {}
        self._relationships = []
        self._conditioning = {}

    def set_table_parameters(self, table_name, table_parameters):
        """Update a table's ``LLMSynthesizer`` parameters, keeping the ones not named.

        Args:
            table_name (str): the table.
            table_parameters (dict): ``LLMSynthesizer`` parameters (``epochs``, ...).

        Raises:
            sdv.errors.SynthesizerInputError: an invalid parameter (named).
        """
        self._validate_table_name(table_name)
        merged = {**self._table_parameters.get(table_name, {}), **table_parameters}
        super().set_table_parameters(table_name, merged)

    # ------------------------------------------------------------ model files
    def save_pretrained(self, directory):
        """Save the fitted synthesizer as a directory of JSON and safetensors files.

        Unlike ``save`` (cloudpickle), loading these files runs no code from them. Layout:
        ``sdv_llm.json`` (format and package versions, metadata, parameters, table order and
        sizes, relationships and their learned counts) and ``tables/<table>/``, one folder per
        table in ``LLMSynthesizer.save_pretrained``'s layout. See
        ``sdv_llm.relational.persistence``.

        Args:
            directory (str or pathlib.Path): a new or empty folder, or a model folder to
                overwrite; its parent must exist.

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
            sdv_llm.persistence.ModelFileError: ``directory`` cannot receive a model.
            NotImplementedError: the synthesizer has constraints (use ``save``).
        """
        from sdv_llm.relational.persistence import save_pretrained

        save_pretrained(self, directory)

    @classmethod
    def from_pretrained(cls, directory):
        """Load a synthesizer written by ``save_pretrained``; no code from the files runs.

        Args:
            directory (str or pathlib.Path): the model folder.

        Returns:
            LLMMultiTableSynthesizer: fitted; it samples as the saved synthesizer after
            ``reset_sampling()`` (same seed, same tables).

        Raises:
            sdv_llm.persistence.ModelFileError: a missing folder, not a model, another format
                or package version (both versions named).
            sdv_llm.state.UnsafeStateError: the files name a class or tag that loading does
                not allow.
        """
        from sdv_llm.relational.persistence import from_pretrained

        return from_pretrained(cls, directory)

    # ------------------------------------------------------------------ fitting
    def fit(self, data, checkpoint_dir=None):
        """Fit every table; SDV's ``fit`` with an optional checkpoint folder.

        Args:
            data (dict[str, pandas.DataFrame]): the tables by name.
            checkpoint_dir (str or pathlib.Path or None): each table trains with its own
                checkpoint folder (``tables/<table>/training/``, written after every epoch);
                a finished table is written to ``tables/<table>/complete/`` with the random
                states after it. A fit started again with the same data, parameters and
                folder loads the finished tables instead of training them and resumes the
                unfinished one after its last epoch: it ends with the same models as an
                uninterrupted fit. Default None (no checkpoints).
        """
        if checkpoint_dir is not None and self._private():
            from sdv.errors import SynthesizerInputError

            raise SynthesizerInputError('checkpoint_dir is not supported with '
                                        'differential_privacy.')
        self._checkpoint_dir = checkpoint_dir
        try:
            super().fit(data)
        finally:
            self._checkpoint_dir = None

    def _private(self):
        """bool: whether a table is fitted with differential privacy (then nothing about the
        relationships is learned from the rows; see the class documentation)."""
        return any(getattr(synthesizer, 'differential_privacy', None) is not None
                   for synthesizer in self._table_synthesizers.values())

    def get_privacy_info(self):
        """What the fit promises about privacy, one entry per mechanism.

        Returns:
            dict: ``'value_protection'``: per modelled table, what value protection hid in
            its generated columns (``hidden_categories``, ``clipped``, ``unprotected``
            counts, never the values; a child table's covers its own columns, not the
            parent context), None where it is off; ``'differential_privacy'``: None when no
            table has it, else ``tables``
            (each table's ``LLMSynthesizer.get_privacy_info()['differential_privacy']``,
            None for a table without a model or without DP), ``epsilon`` and ``delta`` (the
            sums over the modelled tables, basic composition; None when a modelled table has
            no DP) and ``composition``.

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
        """
        from sdv.errors import NotFittedError

        if not self._fitted:
            raise NotFittedError('The privacy information is known after fitting. Please '
                                 'call fit first.')
        protection = {name: (getattr(synthesizer._model, 'privacy_report', None) or {})
                      .get('value_protection')
                      for name, synthesizer in self._table_synthesizers.items()
                      if synthesizer._model is not None}
        if not self._private():
            return {'value_protection': protection, 'differential_privacy': None}
        tables = {name: synthesizer._differential_privacy_info()
                  for name, synthesizer in self._table_synthesizers.items()}
        modelled = [name for name, synthesizer in self._table_synthesizers.items()
                    if synthesizer._model is not None]
        complete = all(tables[name] is not None for name in modelled)
        return {'value_protection': protection, 'differential_privacy': {
            'tables': tables,
            'epsilon': sum(tables[n]['epsilon'] for n in modelled) if complete else None,
            'delta': sum(tables[n]['delta'] for n in modelled) if complete else None,
            'composition': 'basic: the sums over the modelled tables (Dwork and Roth 2014, '
                           'Theorem 3.16)',
        }}

    def preprocess(self, data):
        """Leave out the tables it cannot model, learn self-references, then SDV's preprocess.

        Args:
            data (dict[str, pandas.DataFrame]): the raw tables.

        Returns:
            dict[str, pandas.DataFrame]: the processed tables (the left-out ones excluded).
        """
        data = {name: table for name, table in data.items() if name not in self._left_out}
        private = self._private()
        for relationship in self._self_references:
            table = data.get(relationship.child)
            if table is not None:
                relationship.fit(table[relationship.parent_key], table[relationship.foreign_key])
                if private:  # a random permutation of the keys, nothing from the rows
                    relationship.counts = np.array([0, 1], dtype=np.int64)
                    relationship.null_fraction = 0.0
        for name, synthesizer in self._table_synthesizers.items():
            synthesizer._generated_columns = set(self.metadata._get_all_foreign_keys(name)) | {
                r.foreign_key for r in self._self_references if r.child == name}
        return super().preprocess(data)

    def _augment_tables(self, processed_data):
        """Record table sizes and add each parent's number of children as a column.

        Every relationship adds ``Relationship.count_column`` (HMA's
        ``__<child>__<foreign key>__num_rows``) to its parent table, so the parent's model
        learns how many children a row has jointly with its values.
        """
        self._table_sizes = {name: len(table) for name, table in processed_data.items()}
        self._relationships = []
        for relation in self.metadata.relationships:
            relationship = Relationship(relation['parent_table_name'],
                                        relation['parent_primary_key'],
                                        relation['child_table_name'],
                                        relation['child_foreign_key'])
            parent = processed_data[relationship.parent]
            child = processed_data[relationship.child]
            self._relationships.append(relationship.fit(parent.index, child[relationship.foreign_key]))
        private = self._private()
        for relationship in self._relationships:
            counts = relationship.counts
            if private:  # the count column's metadata range; the rest is left out of training
                counts = np.minimum(counts, self.max_children)
            processed_data[relationship.parent][relationship.count_column] = counts
        self._conditioning = choose_conditioning(self._relationships, self.conditioning_parents,
                                                 self.max_children, data_free=private)
        if private:
            # Sampling reads only the bounds of the count columns, never the real counts.
            for relationship in self._relationships:
                relationship.counts = np.array([0, self.max_children], dtype=np.int64)
                relationship.null_fraction = 0.0
        self._order = topological_order(list(self.metadata.tables), self._relationships)
        return processed_data

    def _modelled(self, processed_data, table_name):
        """The modelled columns of a processed table (its foreign keys dropped)."""
        foreign_keys = self.metadata._get_all_foreign_keys(table_name) + [
            r.foreign_key for r in self._self_references if r.child == table_name]
        return processed_data[table_name].drop(columns=foreign_keys, errors='ignore')

    def _columns(self, table_name):
        """SDV column metadata of a table, with its children count columns (Int64)."""
        count = {'sdtype': 'numerical', 'computer_representation': 'Int64'}
        if self._private():  # declared, not learned: a codec from the metadata only
            count.update(range_min=0, range_max=self.max_children, decimal_places=0,
                         range_is_nullable=False)
        counts = {column: dict(count) for column in self._count_columns(table_name)}
        return {**self.metadata.tables[table_name].columns, **counts}

    def _count_columns(self, table_name):
        return [r.count_column for r in self._relationships if r.parent == table_name]

    def _model_tables(self, augmented_data):
        """Fit a TabularLM for each root table and a ChildrenLM for each child table.

        With a ``checkpoint_dir`` (``fit``), a table finished by an earlier fit is read back
        (with the random states after it) instead of trained, and the others train with their
        own checkpoint folder (``sdv_llm.relational.persistence.TableCheckpoints``).
        """
        from sdv_llm.relational.children import ChildrenLM
        from sdv_llm.relational.persistence import TableCheckpoints, fingerprint
        from sdv_llm.tabular_lm import TabularLM

        checkpoint_dir = getattr(self, '_checkpoint_dir', None)
        checkpoints = None if checkpoint_dir is None else TableCheckpoints(
            checkpoint_dir, list(self.metadata.tables))
        for table_name in self._order:
            synthesizer = self._table_synthesizers[table_name]
            table = self._modelled(augmented_data, table_name)
            relationship = self._conditioning.get(table_name)
            config = build_config(synthesizer._model_parameters())
            config.table_name = table_name
            parent = parent_columns = position = None
            if relationship is not None:
                parent = self._modelled(augmented_data, relationship.parent)
                parent_columns = self._columns(relationship.parent)
                grandparent = self._grandparent(relationship)
                if grandparent is not None:
                    above = pd.Index(augmented_data[grandparent.parent].index).get_indexer(
                        augmented_data[relationship.parent][grandparent.foreign_key].to_numpy())
                    parent, parent_columns = self._with_grandparent(
                        parent, parent_columns, grandparent.parent,
                        self._modelled(augmented_data, grandparent.parent), above)
                position = pd.Index(augmented_data[relationship.parent].index).get_indexer(
                    augmented_data[table_name][relationship.foreign_key].to_numpy())
            training = None
            if checkpoints is not None:
                digest = fingerprint([table, parent, position], {
                    'model': synthesizer._model_parameters(),
                    'relationship': str(relationship), 'columns': self._columns(table_name),
                    'max_children': self.max_children,
                    'max_sequence_length': self.max_sequence_length})
                finished = checkpoints.finished(table_name, digest)
                if finished is not None:
                    LOGGER.info('Table %s: finished by an earlier fit, read from %s',
                                table_name, checkpoint_dir)
                    synthesizer.fit_processed_data_with(table_name, table,
                                                        lambda _, model=finished[0]: model,
                                                        empty=True)
                    continue
                training = checkpoints.training(table_name)
            LOGGER.info('Fitting table %s %s', table_name, table.shape)
            if relationship is None:
                def fit_model(rows, config=config, table_name=table_name,
                              synthesizer=synthesizer, training=training):
                    return TabularLM(config).fit(rows, self._columns(table_name),
                                                 synthesizer.enforce_min_max_values,
                                                 checkpoint_dir=training)
            else:
                linked = position >= 0

                def fit_model(rows, config=config, table_name=table_name,
                              synthesizer=synthesizer, training=training, parent=parent,
                              parent_columns=parent_columns, position=position,
                              linked=linked):
                    model = ChildrenLM(config, self.max_children, self.max_sequence_length)
                    model.fit(parent, parent_columns, rows[linked], self._columns(table_name),
                              position[linked], synthesizer.enforce_min_max_values,
                              checkpoint_dir=training)
                    return model
            # SDV's fit_processed_data marks the table fitted; a table of keys and PII only
            # (no modelled column) keeps no model.
            synthesizer.fit_processed_data_with(table_name, table, fit_model,
                                                empty=relationship is not None)
            model = synthesizer._model
            if checkpoints is not None:
                checkpoints.finish(table_name, model, digest)

    def _grandparent(self, relationship):
        """The parent's conditioning relationship when ``grandparent_context``, else None."""
        if not self.grandparent_context:
            return None
        return self._conditioning.get(relationship.parent)

    def _with_grandparent(self, parent, parent_columns, name, grandparent, position):
        """The parent rows joined with their grandparent row's columns (``name.column``).

        Args:
            parent (pandas.DataFrame): the parent rows (context).
            parent_columns (dict): their column metadata.
            name (str): the grandparent table.
            grandparent (pandas.DataFrame): the grandparent rows (modelled columns).
            position (numpy.ndarray): int ``(len(parent),)`` each parent's grandparent row,
                ``-1`` for none (missing values in the context).

        Returns:
            tuple: ``(pandas.DataFrame, dict)``: the context rows and their column metadata.
        """
        rows = grandparent.reset_index(drop=True).reindex(position)
        rows.columns = [f'{name}.{column}' for column in rows.columns]
        columns = self._columns(name)
        metadata = {f'{name}.{c}': columns[c] for c in grandparent.columns}
        context = pd.concat([parent.reset_index(drop=True), rows.reset_index(drop=True)], axis=1)
        return context, {**parent_columns, **metadata}

    # ----------------------------------------------------------------- sampling
    def _sample(self, scale, batch_size=None, max_tries_per_batch=100):
        """Sample every table, parents before children.

        Args:
            scale (float): root tables get ``round(scale * rows)`` rows (at least one). A child
                table gets the real number of children per parent row times its sampled parent
                rows; the parent model's sampled counts are moved inside the real range to that
                total (``children_counts``), so ``sample_scale(1.0)`` reproduces the sizes.
            batch_size (int or None): rows (or children sequences) decoded together.
            max_tries_per_batch (int): unused (nothing is rejected); kept for SDV.

        Returns:
            dict[str, pandas.DataFrame]: every table, keys included.
        """
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        raw, sampled = {}, {}
        for table_name in self._order:
            synthesizer = self._table_synthesizers[table_name]
            synthesizer._prepare_sampling()
            relationship = self._conditioning.get(table_name)
            if relationship is None:
                rows = self._sample_root(synthesizer, self._table_sizes[table_name] * scale,
                                         batch_size)
                keys = None
            else:
                rows, keys = self._sample_children(synthesizer._model, relationship, raw,
                                                   sampled, batch_size, rng)
            rows = rows.reset_index(drop=True)
            table = synthesizer._data_processor.reverse_transform(
                rows.drop(columns=self._count_columns(table_name), errors='ignore'))
            if relationship is not None:
                table[relationship.foreign_key] = keys
            table = table.reset_index(drop=True)
            for other in self._relationships + self._self_references:
                if other.child == table_name and other is not relationship:
                    parent = table if other.parent == table_name else sampled[other.parent]
                    draws = raw[other.parent].get(other.count_column) \
                        if other.parent in raw else None
                    table[other.foreign_key] = assign_keys(
                        parent[other.parent_key].to_numpy(), other.counts, other.null_fraction,
                        len(table), rng, draws)
            raw[table_name], sampled[table_name] = rows, table
        return sampled

    @staticmethod
    def _sample_root(synthesizer, num_rows, batch_size):
        num_rows = max(1, round(num_rows))
        if synthesizer._model is None:  # only keys and PII: nothing to model
            return pd.DataFrame(index=range(num_rows))
        return synthesizer._model.sample(num_rows, batch_size=batch_size)

    def _sample_children(self, model, relationship, raw, sampled, batch_size, rng):
        """Child rows of every sampled parent row, and their foreign keys.

        Each parent row gets the number of children its model sampled, moved inside the real
        range so that the total is the real number of children per parent times the sampled
        parents (``children_counts``); the context holds the final number.

        Returns:
            tuple: ``(rows, keys)``: raw child rows (modelled columns) and their foreign keys
            (the parent's sampled primary keys; missing for detached rows).
        """
        parent_raw = raw[relationship.parent].copy()
        parent_keys = sampled[relationship.parent][relationship.parent_key].to_numpy()
        if self._private():  # the sampled counts as they are, in the declared range
            draws = pd.to_numeric(parent_raw[relationship.count_column], errors='coerce')
            counts = np.clip(np.rint(draws.fillna(0).to_numpy(dtype=float)), 0,
                             self.max_children).astype(np.int64)
        else:
            counts = children_counts(
                parent_raw[relationship.count_column], relationship.counts,
                expected_children(relationship.counts, len(parent_raw)), rng)
        parent_raw[relationship.count_column] = counts
        grandparent = self._grandparent(relationship)
        if grandparent is not None:
            keys = sampled[grandparent.parent][grandparent.parent_key]
            above = pd.Index(keys).get_indexer(
                sampled[relationship.parent][grandparent.foreign_key].to_numpy())
            parent_raw, _ = self._with_grandparent(
                parent_raw, {}, grandparent.parent, raw[grandparent.parent], above)
        rows, owner = model.sample(parent_raw, counts, batch_size)
        keys = parent_keys[owner].astype(object)
        fraction = relationship.null_fraction
        detached = round(len(rows) * fraction / (1 - fraction)) if fraction < 1 else 0
        if detached and counts.sum():
            # Children of random parents with children (at least one each), then detached.
            chosen = rng.choice(np.flatnonzero(counts), size=detached)
            extra = model.sample(parent_raw.iloc[chosen], counts[chosen], batch_size)[0]
            extra = extra.iloc[:detached]
            rows = pd.concat([rows, extra], ignore_index=True)
            keys = np.concatenate([keys, np.full(len(extra), np.nan, dtype=object)])
        return rows, keys.astype(key_dtype(parent_keys.dtype, pd.isna(keys).any()))

    def get_conditioning_parents(self):
        """The relationship each child table is generated through.

        Returns:
            dict[str, str]: ``'parent.key -> child.foreign_key'`` by child table.
        """
        return {child: str(relationship) for child, relationship in self._conditioning.items()}


def _modelled_tables(metadata):
    """The tables that get a model: a column other than keys and PII, or a child.

    Args:
        metadata (sdv.metadata.Metadata)

    Returns:
        list[str]: in metadata order (at least one name, so a budget can be split).
    """
    from sdv_llm.schema.metadata_only import REQUIRED

    spec = metadata.to_dict()
    parents = {r['parent_table_name'] for r in spec.get('relationships', [])}
    modelled = [name for name, table in spec['tables'].items()
                if name in parents or any(
                    column.get('sdtype') in REQUIRED or column.get('pii') is False
                    or column.get('sdtype') == 'unknown'
                    for column_name, column in table.get('columns', {}).items()
                    if column_name != table.get('primary_key'))]
    return modelled or list(spec['tables'])[:1]


def _table_share(differential_privacy, num_tables):
    """One table's DP settings: ``epsilon`` and ``delta`` divided by ``num_tables``.

    Args:
        differential_privacy (dict): the dataset's settings (validated).
        num_tables (int): modelled tables.

    Returns:
        dict: the same keys, epsilon and delta split (basic composition).
    """
    from sdv_llm.model.differential_privacy import settings

    resolved = settings(differential_privacy)
    share = {**differential_privacy}
    share['epsilon'] = resolved['epsilon'] / num_tables
    share['delta'] = resolved['delta'] / num_tables
    return share


def _supported(metadata):
    """Split the metadata into what the synthesizer models and what it leaves out (warned).

    Args:
        metadata (sdv.metadata.Metadata): the user's metadata (not modified).

    Returns:
        tuple: ``(Metadata, list[Relationship], list[str])``: the metadata without
        self-references and composite-key tables, the self-references, and the left-out tables.
    """
    spec = deepcopy(metadata.to_dict())
    composite = [name for name, table in spec['tables'].items()
                 if isinstance(table.get('primary_key'), (list, tuple))]
    relations = spec.get('relationships', [])
    self_references = [Relationship(r['parent_table_name'], r['parent_primary_key'],
                                    r['child_table_name'], r['child_foreign_key'])
                       for r in relations if r['parent_table_name'] == r['child_table_name']
                       and r['child_table_name'] not in composite]
    if composite:
        warnings.warn(
            f'Tables {composite} have a composite primary key, which LLMMultiTableSynthesizer '
            'does not support (as SDV Community); they are left out of fit and sample, with '
            'their relationships. To synthesize them, give each a single-column primary key.'
        )
    if self_references:
        warnings.warn(
            f'Self-references {[str(r) for r in self_references]} are removed from the '
            'relationships (SDV metadata cannot hold them); their keys are drawn among the '
            "table's own sampled keys, with the real number of references per row."
        )
    spec['relationships'] = [
        r for r in relations
        if r['parent_table_name'] != r['child_table_name']
        and r['parent_table_name'] not in composite and r['child_table_name'] not in composite
    ]
    for name in composite:
        del spec['tables'][name]
    if not composite and not self_references:
        return metadata, [], []
    return Metadata.load_from_dict(spec), self_references, composite
