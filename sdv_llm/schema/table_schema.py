"""The table schema: the fitted codecs of all modelled columns, in generation order."""

import inspect
import logging

import pandas as pd
from sdv.errors import InvalidDataError

from sdv_llm.schema.codecs.by_sdtype import codec_for_sdtype
from sdv_llm.schema.options import CodecOptions
from sdv_llm.schema.order import resolve_column_order

LOGGER = logging.getLogger(__name__)


class TableSchema:
    """Fitted column codecs and the order the columns are generated in.

    Args:
        codecs (dict[str, ColumnCodec]): fitted codecs by column name.
        order (list[str]): base generation order, a permutation of ``codecs``' keys.
        order_mode (str): ``'fixed'``, ``'fd'``, ``'random'`` or ``'list'`` (see
            ``resolve_column_order``).
        dependencies (list[FunctionalDependency]): the dependencies behind an ``'fd'`` order.
    """

    def __init__(self, codecs, order, order_mode='fixed', dependencies=()):
        self.codecs = codecs
        self.order = list(order)
        self.order_mode = order_mode
        self.dependencies = list(dependencies)

    @classmethod
    def fit(cls, data, columns_metadata, enforce_min_max_values=True, options=None,
            column_order='fixed', choose_codec=None, protection=None):
        """Choose a codec for every column and fit it.

        Args:
            data (pandas.DataFrame): the training table, raw values.
            columns_metadata (dict[str, dict]): SDV metadata of each column of ``data``.
            enforce_min_max_values (bool): bound numbers and datetimes to their range.
            options (CodecOptions or None): shared codec limits.
            column_order (str or list[str]): see ``resolve_column_order``.
            choose_codec (callable or None): called with the keyword arguments of the
                ``sdv_llm_column_codec`` hook (``sdv_llm.hookspecs``) for each column; returns
                an unfitted codec or ``None``. The models pass the plugins' hook
                (``sdv_llm.plugins.codec_hook()``), so plugins choose codecs; ``None`` uses the
                built-in codec of each sdtype (``codec_for_sdtype``) only.
            protection (ValueProtection or None): value protection
                (``sdv_llm.schema.protection``), passed to every codec's ``fit``; a plugin
                codec whose ``fit`` takes no ``protection`` is fitted unprotected.

        With ``options.metadata_only`` (differential privacy) nothing is learned from the
        rows: the codec is chosen from the metadata (the hook's ``values`` are the column's
        ``range_values``, or no values) and fitted by ``ColumnCodec.fit_metadata``; the
        ``'fd'`` order, whose dependencies are found in the rows, becomes ``'fixed'``.
        Only the columns' dtypes are read from ``data``.

        Returns:
            TableSchema

        Raises:
            InvalidDataError: when a column has no codec for its sdtype or its values cannot be
                encoded; the message names the column (and, with ``metadata_only``, the
                metadata keys it lacks).
        """
        options = options or CodecOptions()
        choose_codec = choose_codec or codec_for_sdtype
        codecs = {}
        errors = []
        for column in data.columns:
            metadata = columns_metadata.get(column, {'sdtype': 'categorical'})
            values = data[column]
            if options.metadata_only:
                declared = metadata.get('range_values')
                values = (pd.Series(list(declared), dtype=object) if declared is not None
                          else values.iloc[:0])
            codec = choose_codec(
                column=column, column_metadata=metadata, values=values,
                enforce_min_max_values=enforce_min_max_values, options=options,
            )
            if codec is None:
                errors.append(
                    f"Column '{column}' has sdtype {metadata.get('sdtype')!r}, which no codec "
                    'supports.'
                )
                continue
            try:
                if options.metadata_only:
                    codecs[column] = codec.fit_metadata(data[column].dtype)
                elif protection is not None and \
                        'protection' in inspect.signature(codec.fit).parameters:
                    codecs[column] = codec.fit(values, protection)
                else:
                    codecs[column] = codec.fit(values)
            except (ValueError, TypeError) as error:
                message = str(error)
                errors.append(message if options.metadata_only
                              and message.startswith(f"Column '{column}'")
                              else f"Column '{column}': {message}")

        if errors:
            raise InvalidDataError(errors)

        if options.metadata_only and isinstance(column_order, str) and column_order == 'fd':
            LOGGER.info("column_order='fd' reads dependencies from the rows; 'fixed' is used "
                        'with metadata-only codecs (differential privacy).')
            column_order = 'fixed'
        order, dependencies = resolve_column_order(column_order, data[list(codecs)])
        mode = column_order if isinstance(column_order, str) else 'list'
        return cls(codecs, order, mode, dependencies)

    def release_training_values(self):
        """Forget the hidden values every codec kept to encode the training rows (see
        ``ColumnCodec.release_training_values``); call once they are encoded."""
        for codec in self.codecs.values():
            codec.release_training_values()

    def protection_summary(self):
        """What value protection did, per column, as counts (never the values).

        Returns:
            dict: ``hidden_categories`` ``{column: {'categories': n, 'rows': m}}``,
            ``clipped`` ``{column: {'low': a, 'high': b}}`` (training values beyond each
            protected bound) and ``unprotected`` (columns left whole because every value was
            rare), each holding only the columns concerned.
        """
        hidden, clipped, unprotected = {}, {}, []
        for column in self.order:
            info = getattr(self.codecs[column], 'protection', None) or {}
            if info.get('unprotected'):
                unprotected.append(column)
            if info.get('hidden_categories'):
                hidden[column] = {'categories': int(info['hidden_categories']),
                                  'rows': int(info.get('hidden_rows', 0))}
            if 'clipped_low' in info:
                clipped[column] = {'low': int(info['clipped_low']),
                                   'high': int(info['clipped_high'])}
        return {'hidden_categories': hidden, 'clipped': clipped, 'unprotected': unprotected}
