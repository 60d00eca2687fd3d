"""LLMSynthesizer: the SDV 2.0 single-table synthesizer backed by a tabular language model."""

import logging

from sdv.errors import NotFittedError
from sdv.single_table.base import BaseSingleTableSynthesizer
from sdv.single_table.ctgan import LossValuesMixin

from sdv_llm.parameters import build_config, store_parameters, validate_parameters

LOGGER = logging.getLogger(__name__)

_RAW = {'numerical': None, 'datetime': None, 'categorical': None, 'boolean': None, 'ordinal': None}


class LLMSynthesizer(LossValuesMixin, BaseSingleTableSynthesizer):
    """Model a table with a causal language model over its serialized rows.

    Rows are written as tokens by metadata-driven column codecs (one token per category, a sign
    and fixed-width digits per number, time units for datetimes, characters for high-cardinality
    categoricals); a small decoder-only transformer is trained on them from scratch; sampling
    steps all rows at once through a token automaton of the row grammar, so every sampled row is
    valid and ``sample(n)`` returns ``n`` rows. Primary keys and PII columns are regenerated or
    faked by SDV.

    Args:
        metadata (sdv.metadata.Metadata): metadata of one table.
        enforce_min_max_values (bool): sample numbers and datetimes only inside
            ``[range_min, range_max]`` (metadata range widened by the training range). Default True.
        enforce_rounding (bool): kept for SDV; numbers are always written with the column's
            decimal places (at most ``max_significant_digits`` past the integer part). Default True.
        locales (list or str): locales of the PII fakers. Default ``['en_US']``.
        epochs (int or None): most training epochs; ``None`` picks about 300,000 row
            presentations (8 to 200 epochs). Early stopping may end training sooner.
        batch_size (int or None): training rows per step; ``None`` is about rows/16 in [16, 512].
        learning_rate (float): peak AdamW learning rate. Default 3e-3.
        embedding_dim, num_layers, num_heads (int or None): decoder size; ``None`` sizes it from
            the table (see ``BackboneConfig.for_table``).
        dropout (float or None): dropout; ``None`` picks by table size.
        validation_fraction (float): rows held out for early stopping. Default 0.1.
        patience (int): epochs without validation improvement before stopping. Default 3.
        column_order (str or list[str]): ``'fixed'`` (table order) or a list of the modelled
            columns. Default ``'fixed'``.
        max_categories (int): categoricals with more values are spelled by characters.
            Default 1000.
        max_discrete_values (int): numerical columns with at most this many distinct values get
            one token per value (plus a digit path for others). Default 200.
        max_significant_digits (int): digits kept past a number's integer part. Default 6.
        temperature (float): sampling temperature. Default 1.0.
        top_p (float): nucleus sampling mass; 1.0 samples the full distribution. Default 1.0.
        sample_batch_size (int): rows decoded together. Default 4096.
        enable_gpu (bool): use CUDA when available. Default True.
        verbose (bool): show progress bars. Default False.
        random_state (int or None): seed of the training run (initialisation, split, shuffling,
            dropout). Sampling is seeded by SDV (``reset_sampling``). Default None.

    Raises:
        sdv.errors.SynthesizerInputError: an invalid parameter, named in the message.
    """

    _model_sdtype_transformers = _RAW

    def __init__(self, metadata, enforce_min_max_values=True, enforce_rounding=True,
                 locales=['en_US'], epochs=None, batch_size=None, learning_rate=3e-3,
                 embedding_dim=None, num_layers=None, num_heads=None, dropout=None,
                 validation_fraction=0.1, patience=3, column_order='fixed', max_categories=1000,
                 max_discrete_values=200, max_significant_digits=6, temperature=1.0, top_p=1.0,
                 sample_batch_size=4096, enable_gpu=True, verbose=False, random_state=None):
        super().__init__(metadata, enforce_min_max_values=enforce_min_max_values,
                         enforce_rounding=enforce_rounding, locales=locales)
        store_parameters(self, locals())
        validate_parameters(self._model_parameters())

    def _model_parameters(self):
        skip = {'enforce_min_max_values', 'enforce_rounding', 'locales'}
        return {k: v for k, v in self.get_parameters().items() if k not in skip}

    def _validate(self, table_data):
        if len(table_data) == 0:
            return [f"The table '{self._table_name}' has no rows; LLMSynthesizer needs at least "
                    'one.']
        return []

    def _fit(self, processed_data):
        from sdv_llm.tabular_lm import TabularLM

        columns = self.metadata.tables[self._table_name].columns
        config = build_config(self._model_parameters())
        self._model = TabularLM(config).fit(processed_data, columns,
                                            self.enforce_min_max_values)

    def _sample(self, num_rows, conditions=None):
        if conditions is not None:
            # Native conditions come with the column-order issue; SDV falls back to rejection.
            raise NotImplementedError
        return self._model.sample(num_rows)

    def get_column_order(self):
        """The order in which columns are generated.

        Returns:
            list[str]

        Raises:
            sdv.errors.NotFittedError: before ``fit``.
        """
        if self._model is None:
            raise NotFittedError('The column order is known after fitting. Please call fit first.')
        return list(self._model.schema.order)
