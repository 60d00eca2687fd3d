"""The built-in plugin: codecs by sdtype and the compact serialization."""

from sdv_llm.plugins import hookimpl
from sdv_llm.schema.codecs.categorical import CategoricalCodec
from sdv_llm.schema.codecs.character import CharacterCodec
from sdv_llm.schema.codecs.datetime import DatetimeCodec
from sdv_llm.schema.codecs.numeric_text import NumericTextCodec, text_style
from sdv_llm.schema.codecs.numerical import NumericalCodec


@hookimpl(trylast=True)
def sdv_llm_column_codec(column, column_metadata, values, enforce_min_max_values, options):
    """Pick the built-in codec for the column's sdtype (see the hook's documentation)."""
    sdtype = column_metadata.get('sdtype')
    if sdtype in CategoricalCodec.sdtypes:
        present = values.dropna()
        codec_class = CategoricalCodec
        if sdtype == 'categorical' and present.nunique() > options.max_categories:
            # Numbers stored as text are written as numbers, other strings spelled out.
            codec_class = NumericTextCodec if text_style(present) else CharacterCodec
    elif sdtype == 'numerical':
        codec_class = NumericalCodec
    elif sdtype == 'datetime':
        codec_class = DatetimeCodec
    else:
        return None

    return codec_class(column, column_metadata, enforce_min_max_values, options)


@hookimpl
def sdv_llm_serializations():
    """The compact serialization of the embedded backbone and the text ones of pretrained LMs."""
    from sdv_llm.serialization.compact import CompactSerializer
    from sdv_llm.serialization.text import FORMATS, TextSerializer

    return {'compact': CompactSerializer, **{name: TextSerializer for name in FORMATS}}
