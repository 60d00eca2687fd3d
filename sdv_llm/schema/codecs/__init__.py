"""Column codecs, one per SDV sdtype."""

from sdv_llm.schema.codecs.base import ColumnCodec
from sdv_llm.schema.codecs.categorical import CategoricalCodec
from sdv_llm.schema.codecs.character import CharacterCodec
from sdv_llm.schema.codecs.datetime import DatetimeCodec
from sdv_llm.schema.codecs.numeric_text import NumericTextCodec
from sdv_llm.schema.codecs.numerical import NumericalCodec

__all__ = ['CategoricalCodec', 'CharacterCodec', 'ColumnCodec', 'DatetimeCodec',
           'NumericTextCodec', 'NumericalCodec']
