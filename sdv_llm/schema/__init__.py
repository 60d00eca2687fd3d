"""Table schema: one column codec per column, chosen by sdtype, and the column order."""

from sdv_llm.schema.options import CodecOptions
from sdv_llm.schema.table_schema import TableSchema

__all__ = ['CodecOptions', 'TableSchema']
