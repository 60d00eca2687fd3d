"""The text formats quote values so that a quoted value is one regex literal and ends no clause."""

import re

from hypothesis import given
from hypothesis import strategies as st

from sdv_llm.schema.text_domains.regex import regex_escape
from sdv_llm.serialization.text import CSVFormat, JSONFormat, SentenceFormat


@given(st.text(max_size=12))
def test_quoted_strings_escape_round_trip(text):
    for fmt in (SentenceFormat(), JSONFormat(), CSVFormat()):
        quoted = fmt.quote(text)
        assert re.fullmatch(regex_escape(quoted), quoted, re.DOTALL)
        if fmt.name != 'json':
            assert fmt.separator not in quoted or quoted.startswith('"')
        assert '\n' not in quoted or quoted.startswith('"')
