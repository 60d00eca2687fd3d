"""Dates in their datetime_format: the regex is exactly the dates of the range."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdv_llm.schema.codecs.datetime import DatetimeCodec
from sdv_llm.schema.text_domains.date_domain import DateDomain, parse_format
from sdv_llm.schema.text_domains.number_domain import NumberDomain
from sdv_llm.serialization.text import CSVFormat, JSONFormat, SentenceFormat

BASE = pd.Timestamp('1995-12-20')
SECONDS = {'D': 86_400, 'h': 3_600, 'm': 60, 's': 1}


def _domain(fmt, unit, low, high):
    def stamps(counts):
        return BASE + pd.to_timedelta(np.asarray(counts) * SECONDS[unit], unit='s')

    return DateDomain(fmt, unit, low, high, None, None, None,
                      lambda counts: pd.DatetimeIndex(stamps(counts)))


@settings(max_examples=40, deadline=None)
@given(low=st.integers(0, 1600), span=st.integers(0, 1600),
       fmt=st.sampled_from(['%Y-%m-%d', '%d/%m/%Y', '%m%d%Y', '%Y-%m-%d %H:%M']))
def test_day_regex_is_exactly_the_days_of_the_range(low, span, fmt):
    domain = _domain(fmt, 'D', low, low + span)
    pattern = re.compile(domain.patterns(SentenceFormat())[0])
    probes = list(range(low - 40, low + 40)) + list(range(low + span - 40, low + span + 40))
    for count in probes:
        text = (BASE + pd.Timedelta(days=count)).strftime(fmt)
        assert bool(pattern.fullmatch(text)) == (low <= count <= low + span), (count, text)
    # Never a day the calendar does not have, nor a time that is not midnight.
    assert not pattern.fullmatch(pd.Timestamp('1996-02-28').strftime(fmt).replace('28', '30'))
    if '%H' in fmt:
        assert not pattern.fullmatch((BASE + pd.Timedelta(days=low, hours=1)).strftime(fmt))


def test_every_day_of_leap_and_common_years_and_nothing_else():
    domain = _domain('%Y-%m-%d', 'D', 0, 3000)    # 1995-12-20 .. 2004-03-08
    pattern = re.compile(domain.patterns(JSONFormat())[0])
    accepted = set()
    for year in range(1994, 2006):
        for month in range(1, 13):
            for day in range(1, 32):
                text = f'"{year:04d}-{month:02d}-{day:02d}"'
                if pattern.fullmatch(text):
                    accepted.add(text)
    expected = {f'"{(BASE + pd.Timedelta(days=d)).strftime("%Y-%m-%d")}"' for d in range(3001)}
    assert accepted == expected   # Feb 29 only in 1996, 2000 and 2004; JSON quoted


def test_minutes_sub_range_and_csv_quoting():
    domain = _domain('%d,%m,%Y %H:%M', 'm', 0, 10 * 24 * 60)
    pattern = re.compile(domain.patterns(CSVFormat(), 90, 150)[0])
    for minutes in range(300):
        text = '"' + (BASE + pd.Timedelta(minutes=minutes)).strftime('%d,%m,%Y %H:%M') + '"'
        assert bool(pattern.fullmatch(text)) == (90 <= minutes <= 150), text
    assert domain.patterns(CSVFormat(), 500, 100) == []


@pytest.mark.parametrize('fmt', ['%y-%m-%d', '%Y-%j', '%m-%d', '%b %d %Y', '%Y-%d-%d'])
def test_formats_that_cannot_be_written_exactly_are_refused(fmt):
    assert parse_format(fmt) is None


def test_codec_writes_its_datetime_format_and_falls_back_to_unit_counts():
    values = pd.Series(['03/01/2020', '15/02/2020', '29/02/2020'])
    codec = DatetimeCodec('when', {'sdtype': 'datetime', 'datetime_format': '%d/%m/%Y'})
    codec.fit(values)
    domain = codec.text_domain()
    assert isinstance(domain, DateDomain)
    written = domain.write(JSONFormat(), values)
    assert written == ['"03/01/2020"', '"15/02/2020"', '"29/02/2020"']
    assert list(domain.parse(JSONFormat(), written)) == list(values)
    assert domain.describe() == 'from 03/01/2020 to 29/02/2020'
    monthly = DatetimeCodec('when', {'sdtype': 'datetime', 'datetime_format': '%Y-%m'})
    monthly.fit(pd.Series(['2020-01', '2020-03']))
    assert isinstance(monthly.text_domain(), NumberDomain)   # no day field: unit counts
