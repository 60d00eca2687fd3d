"""Number texts and their regexes: exactly the scaled integers of the range, nothing else."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sdv_llm.schema.text_domains.number_domain import (
    NumberDomain,
    format_scaled,
    parse_scaled,
)
from sdv_llm.schema.text_domains.regex import alternation


@settings(max_examples=60, deadline=None)
@given(low=st.integers(-3000, 3000), span=st.integers(0, 4000), decimals=st.integers(0, 3))
def test_number_regex_is_exactly_the_range(low, span, decimals):
    high = low + span
    domain = NumberDomain(decimals, low, high, None, None, None)
    pattern = re.compile(alternation(domain.patterns()))
    probes = list(range(low - 15, low + 15)) + list(range(high - 15, high + 15)) + [0, -1, 1]
    for m in probes:
        text = format_scaled([m], decimals)[0]
        assert bool(pattern.fullmatch(text)) == (low <= m <= high), (m, text)
        assert parse_scaled([text])[0] == m
    assert not pattern.fullmatch('-0') and not pattern.fullmatch('00')


def test_sub_ranges():
    domain = NumberDomain(1, -50, 500, None, None, None)
    pattern = re.compile(alternation(domain.patterns(low=12, high=37)))
    accepted = [m for m in range(-60, 600) if pattern.fullmatch(format_scaled([m], 1)[0])]
    assert accepted == list(range(12, 38))
