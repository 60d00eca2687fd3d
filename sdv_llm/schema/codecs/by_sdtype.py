"""The built-in codec of a column, by its sdtype."""

from sdv_llm.schema.codecs.categorical import CategoricalCodec
from sdv_llm.schema.codecs.character import CharacterCodec
from sdv_llm.schema.codecs.datetime import DatetimeCodec
from sdv_llm.schema.codecs.numeric_text import NumericTextCodec, text_style
from sdv_llm.schema.codecs.numerical import NumericalCodec


def codec_for_sdtype(column, column_metadata, values, enforce_min_max_values, options):
    """An unfitted built-in codec for the column's sdtype (``None`` without an sdtype).

    The arguments are those of the ``sdv_llm_column_codec`` hook (``sdv_llm.hookspecs``),
    which the built-in plugin (``sdv_llm.builtin``) answers with this function. With
    ``options.metadata_only`` the ``values`` are the metadata's ``range_values`` (see
    ``TableSchema.fit``) and a large value set is always spelled by characters, so every
    sampled value is a declared one.
    """
    sdtype = column_metadata.get('sdtype')
    if sdtype == 'numerical':
        codec_class = NumericalCodec
    elif sdtype == 'datetime':
        codec_class = DatetimeCodec
    elif sdtype in CategoricalCodec.sdtypes or sdtype is not None:
        # Categories; and the columns SDV hands over as they are under other sdtypes (an
        # ``id`` that is not a key, PII marked ``pii=False``, ``unknown``), modelled like
        # categoricals, as GaussianCopula models them.
        present = values.dropna()
        codec_class = CategoricalCodec
        if sdtype not in ('boolean', 'ordinal') and present.nunique() > options.max_categories:
            # Numbers stored as text are written as numbers, other strings spelled out.
            codec_class = NumericTextCodec if text_style(present) and \
                not options.metadata_only else CharacterCodec
    else:
        return None

    return codec_class(column, column_metadata, enforce_min_max_values, options)
