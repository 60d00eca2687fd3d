"""The built-in plugin: codecs by sdtype and the compact and text serializations."""

from sdv_llm.hookspecs import hookimpl
from sdv_llm.schema.codecs.by_sdtype import codec_for_sdtype


@hookimpl(trylast=True)
def sdv_llm_column_codec(column, column_metadata, values, enforce_min_max_values, options):
    """Pick the built-in codec for the column's sdtype (see the hook's documentation)."""
    return codec_for_sdtype(column, column_metadata, values, enforce_min_max_values, options)


@hookimpl
def sdv_llm_serializations():
    """The compact serialization of the embedded backbone and the text ones of pretrained LMs."""
    from sdv_llm.decoding.automaton import TokenAutomaton
    from sdv_llm.decoding.dependencies import (
        compile_dependencies,
        compile_text_dependencies,
    )
    from sdv_llm.decoding.serializations import Serialization
    from sdv_llm.decoding.text_automaton import TextTokenAutomaton
    from sdv_llm.serialization.compact import CompactSerializer
    from sdv_llm.serialization.text import FORMATS, TextSerializer

    text = Serialization(TextSerializer, TextTokenAutomaton.compile, compile_text_dependencies,
                         backbone='pretrained')
    return {'compact': Serialization(CompactSerializer, TokenAutomaton.compile,
                                     compile_dependencies),
            **{name: text for name in FORMATS}}


@hookimpl
def sdv_llm_state_classes():
    """The built-in codecs and the schema classes a fitted model holds."""
    from sdv_llm.schema.codecs.bins import QuantileBins
    from sdv_llm.schema.codecs.categorical import CategoricalCodec
    from sdv_llm.schema.codecs.character import CharacterCodec
    from sdv_llm.schema.codecs.datetime import DatetimeCodec
    from sdv_llm.schema.codecs.numeric_text import NumericTextCodec
    from sdv_llm.schema.codecs.numerical import NumericalCodec
    from sdv_llm.schema.dependencies import FunctionalDependency
    from sdv_llm.schema.options import CodecOptions
    from sdv_llm.schema.table_schema import TableSchema

    return [CategoricalCodec, CharacterCodec, DatetimeCodec, NumericTextCodec, NumericalCodec,
            QuantileBins, FunctionalDependency, CodecOptions, TableSchema]
