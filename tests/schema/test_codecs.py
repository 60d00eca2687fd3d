"""Column codecs: round trips (hypothesis), automata that accept exactly the encodings."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdv_llm.schema.codecs import (
    CategoricalCodec,
    CharacterCodec,
    DatetimeCodec,
    NumericalCodec,
)
from sdv_llm.schema.fragment import EXIT
from sdv_llm.schema.options import CodecOptions

DIGITS_ONLY = CodecOptions(max_discrete_values=0)
FEW_VALUES = CodecOptions(max_discrete_values=10)
SUB_BINS = CodecOptions(max_discrete_values=0, max_bins=9, max_sub_bins=7)


def walk_all(fragment, limit=200_000):
    """Every complete token path of a fragment (small fragments only)."""
    paths, stack = [], [(0, [])]
    while stack:
        state, path = stack.pop()
        for token, target in fragment.transitions[state].items():
            if target == EXIT:
                paths.append(path + [token])
            else:
                stack.append((target, path + [token]))
        assert len(paths) < limit
    return paths


def decode_paths(codec):
    """Decode every path of the codec's fragment."""
    paths = walk_all(codec.fragment())
    return codec.decode(np.array([p + [-1] * (codec.max_length - len(p)) for p in paths]))


def roundtrip(codec, values):
    encoded = codec.encode(pd.Series(values))
    fragment = codec.fragment()
    for row in encoded:
        assert fragment.accepts([t for t in row if t >= 0])
    return codec.decode(encoded)


def reachable(codec, fragment=None):
    """Every scaled integer a numerical codec's automaton can produce (small ranges only).

    A path on the training path of a binned column stands for its whole sub-bin (the last
    digits are drawn when decoding); every other path for one value.
    """
    paths = walk_all(codec._value_fragment() if fragment is None else fragment)
    tokens = np.array([p + [-1] * (codec.max_length - len(p)) for p in paths])
    if codec.bins is None:
        return sorted(codec.to_scaled(codec._decode_values(tokens)))
    start, span = codec.bins.interval(tokens)
    values = [v for s, n in zip(start, span) for v in range(int(s), int(s + n))]
    assert len(values) == len(set(values)), 'two paths stand for the same value'
    return sorted(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-10**7, 10**7), min_size=1, max_size=30), st.data())
def test_numerical_integers_roundtrip(values, data):
    low, high = min(values), max(values)
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 0,
                                 'range_min': low, 'range_max': high},
                           options=data.draw(st.sampled_from([DIGITS_ONLY, FEW_VALUES,
                                                              SUB_BINS]))).fit(
        pd.Series(values))
    probe = pd.Series(data.draw(st.lists(st.integers(low, high), min_size=1, max_size=20)))
    fragment = codec.values_fragment(list(probe))  # the exact path is for restrictions
    exact = codec.encode(probe, exact=True)
    assert all(fragment.accepts([t for t in row if t >= 0]) for row in exact)
    assert list(codec.decode(exact)) == list(probe)
    # The training path decodes to a value of the same sub-bin, inside the range.
    sampled = roundtrip(codec, probe)
    assert sampled.between(low, high).all()
    assert (codec.encode(sampled) == codec.encode(probe)).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4), st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=30))
def test_numerical_decimals_roundtrip(places, scaled):
    values = [v / 10**places for v in scaled]
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': places},
                           options=DIGITS_ONLY).fit(pd.Series(values))
    assert codec.decimals == places
    exact = codec.decode(codec.encode(pd.Series(values), exact=True)).astype(float)
    np.testing.assert_allclose(exact, values, rtol=0, atol=10**-(places + 3))
    sampled = roundtrip(codec, values).astype(float)
    np.testing.assert_allclose(sampled, np.round(sampled, places), rtol=0, atol=1e-9)
    assert sampled.between(min(values), max(values)).all()


@pytest.mark.parametrize('values, places', [
    ([10_000.01, 25_999.99, 99_999.37, 10_250.5, 54_321.09] * 50, 2),   # money above 10,000
    ([1e12 + 0.25, 1e12 + 999.75, 3e12 + 0.5, 2e12 + 0.01] * 60, 2),   # near 1e12
    ([1.5e-7, 9.9e-7, 3.3e-7, 5e-9, 7.77e-7] * 50, 9),                # in [0, 1e-6]
])
def test_numerical_keeps_precision(values, places):
    values = pd.Series(values) + np.arange(len(values)) * 10.0 ** -places
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': places},
                           options=CodecOptions(max_discrete_values=10)).fit(values)
    assert codec.decimals == places and codec.mode == 'bins'
    sampled = codec.decode(codec.encode(values), np.random.default_rng(0)).astype(float)
    scaled = sampled * 10**places
    np.testing.assert_allclose(scaled, np.round(scaled), rtol=0, atol=1e-3)
    assert (np.round(scaled) % 10 != 0).any()  # the last decimal is not lost
    assert sampled.nunique() > 0.9 * len(values)  # no collapse to a few constants
    exact = codec.decode(codec.encode(values, exact=True)).astype(float)
    np.testing.assert_allclose(exact, values, rtol=1e-15, atol=10.0 ** -(places + 3))


def test_numerical_too_large_for_exact_integers_raises():
    with pytest.raises(ValueError, match="Column 'big'.*1e17"):
        NumericalCodec('big', {'sdtype': 'numerical'}).fit(
            pd.Series([2**63 + 5, 2**64 - 1], dtype='uint64'))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-2_000, 2_000), min_size=30, max_size=200), st.data())
def test_numerical_range_condition_on_bins_is_exact(values, data):
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 0},
                           options=data.draw(st.sampled_from([DIGITS_ONLY, SUB_BINS]))).fit(
        pd.Series(values))
    low = data.draw(st.integers(min(values) - 5, max(values)))
    high = data.draw(st.integers(low, max(values) + 5))
    inside = [v for v in range(low, high + 1) if min(values) <= v <= max(values)]
    if not inside:
        with pytest.raises(ValueError, match="Column 'x'"):
            codec.range_fragment(low, high)
        return
    assert reachable(codec, codec.range_fragment(low, high)) == inside
    chosen = sorted(set(data.draw(st.lists(st.sampled_from(inside), min_size=1, max_size=5))))
    assert reachable(codec, codec.values_fragment(chosen)) == chosen


def test_numerical_bins_isolate_point_masses():
    values = pd.Series([0.0] * 300 + list(np.linspace(1, 500, 700).round(2)))
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 2}).fit(values)
    encoded = codec.encode(pd.Series([0.0]))
    assert codec.mode == 'bins' and (encoded[0, 1:] == -1).all()  # one token, exact
    assert codec.decode(encoded)[0] == 0.0


def test_numerical_automaton_accepts_exactly_the_range():
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 1,
                                 'range_min': -3.2, 'range_max': 12.5},
                           options=DIGITS_ONLY).fit(pd.Series([0.0, 1.5]))
    assert reachable(codec) == list(range(-32, 126))


def test_numerical_without_min_max_allows_every_width_digit_number():
    codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 0},
                           enforce_min_max_values=False, options=DIGITS_ONLY).fit(
        pd.Series([10, 20, 35]))
    assert reachable(codec) == list(range(100))


def test_numerical_few_values_get_a_token_each_and_others_a_digit_path():
    codec = NumericalCodec('n', {'sdtype': 'numerical', 'decimal_places': 0,
                                 'range_min': 0, 'range_max': 120}).fit(pd.Series([3, 40, 40, 99]))
    assert codec.discrete == [3, 40, 99] and codec.tokens[:4] == ['=3', '=40', '=99', '<digits>']
    encoded = codec.encode(pd.Series([40, 41]))
    assert encoded[0, 0] == 1 and (encoded[0, 1:] == -1).all() and encoded[1, 0] == 3
    decoded = decode_paths(codec)
    assert set(decoded) == set(range(121)) and len(decoded) == 121 + 3


def test_numerical_nulls_get_a_token():
    codec = NumericalCodec('age', {'sdtype': 'numerical', 'decimal_places': 0}).fit(
        pd.Series([1.0, np.nan, 30.0]))
    assert codec.tokens[0] == '<null>'
    decoded = roundtrip(codec, [np.nan, 5.0, 30.0])
    assert np.isnan(decoded[0]) and list(decoded[1:].astype(float)) == [5.0, 30.0]


def test_numerical_caps_significant_digits_with_a_warning():
    with pytest.warns(UserWarning, match="Column 'x' has 15 decimal places; 3 are kept"):
        codec = NumericalCodec('x', {'sdtype': 'numerical', 'decimal_places': 15},
                               options=CodecOptions(max_significant_digits=6)).fit(
            pd.Series([0.8461538461538461, 141.9090909090909]))
    assert codec.decimals == 3 and codec.width == 6


def test_numerical_constant_column():
    codec = NumericalCodec('x', {'sdtype': 'numerical'}).fit(pd.Series([7, 7, 7]))
    assert set(decode_paths(codec)) == {7}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.integers(-5, 5), st.booleans()),
                min_size=1, max_size=20, unique_by=lambda v: (type(v), v)))
def test_categorical_roundtrip_keeps_types(values):
    codec = CategoricalCodec('c', {'sdtype': 'categorical'}).fit(pd.Series(values, dtype=object))
    decoded = list(roundtrip(codec, values))
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]


def test_categorical_uses_range_values_and_rejects_unknown():
    codec = CategoricalCodec('c', {'sdtype': 'categorical', 'range_values': ['a', 'b', 'z']}).fit(
        pd.Series(['a', 'b']))
    assert codec.tokens == ['a', 'b', 'z']
    with pytest.raises(ValueError, match="Column 'c'"):
        codec.encode(pd.Series(['q']))


def test_categorical_missing_values_and_booleans():
    codec = CategoricalCodec('flag', {'sdtype': 'boolean'}).fit(pd.Series([True, None, False]))
    decoded = roundtrip(codec, [None, True, False])
    assert pd.isna(decoded[0]) and decoded[1] is True and decoded[2] is False


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=20), min_size=1, max_size=40))
def test_character_codec_roundtrip_unicode(values):
    codec = CharacterCodec('t', {'sdtype': 'categorical'}).fit(pd.Series(values))
    assert list(roundtrip(codec, values)) == values


def test_character_codec_trie_only_spells_known_values():
    values = ['ab', 'abc', 'b', 'été']
    codec = CharacterCodec('t', {'sdtype': 'categorical'}).fit(pd.Series(values))
    decoded = decode_paths(codec)
    assert sorted(decoded) == sorted(values)


def test_character_codec_rejects_too_long_values():
    with pytest.raises(ValueError, match="Column 't'.*max_text_length=5"):
        CharacterCodec('t', {'sdtype': 'categorical'}, options=CodecOptions(max_text_length=5)).fit(
            pd.Series(['x' * 6]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2050, 1, 1)),
                min_size=1, max_size=20), st.sampled_from(['%Y-%m-%d', '%Y-%m-%d %H:%M:%S']))
def test_datetime_roundtrip_in_format(stamps, fmt):
    strings = [s.strftime(fmt) for s in stamps]
    codec = DatetimeCodec('d', {'sdtype': 'datetime', 'datetime_format': fmt}).fit(
        pd.Series(strings))
    assert list(roundtrip(codec, strings)) == strings


def test_datetime_range_is_enforced():
    fmt = '%Y-%m-%d'
    codec = DatetimeCodec('d', {'sdtype': 'datetime', 'datetime_format': fmt,
                                'range_min': '2020-01-01', 'range_max': '2020-03-01'}).fit(
        pd.Series(['2020-01-05', '2020-02-01']))
    assert codec.unit == 'D'
    decoded = set(decode_paths(codec))
    assert min(decoded) == '2020-01-01' and max(decoded) == '2020-03-01' and len(decoded) == 61


def test_datetime_native_dtype_comes_back_as_datetime():
    values = pd.Series(pd.to_datetime(['2021-01-01 10:00', '2021-01-02 11:30', None]))
    codec = DatetimeCodec('d', {'sdtype': 'datetime'}).fit(values)
    decoded = codec.decode(codec.encode(values))
    assert decoded[0] == pd.Timestamp('2021-01-01 10:00') and pd.isna(decoded[2])


def _charges(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    charges = [f'{v:.2f}' for v in rng.gamma(2.0, 800.0, rows)]
    charges[:7] = [' '] * 7  # new customers: no charge yet
    return pd.Series(charges, dtype=object)


def test_numbers_stored_as_text_are_encoded_as_numbers():
    from sdv_llm.schema import TableSchema
    from sdv_llm.schema.codecs import NumericTextCodec
    from sdv_llm.schema.codecs.numeric_text import text_style

    values = _charges()
    assert text_style(values) == ('fixed', 2)
    assert text_style(pd.Series(['7', '20.5', '3.25'] * 400)) == ('shortest', 2)
    assert text_style(pd.Series(['007', '1'] * 600)) is None           # leading zeros
    assert text_style(pd.Series(['a', 'b', '3'] * 400)) is None        # mostly words
    schema = TableSchema.fit(pd.DataFrame({'charges': values}),
                             {'charges': {'sdtype': 'categorical'}},
                             options=CodecOptions(max_categories=100))
    codec = schema.codecs['charges']
    assert isinstance(codec, NumericTextCodec)
    assert (codec.encode(values) >= 0).sum(axis=1).max() <= 2  # bin and sub-bin, not 7 chars
    exact = codec.decode(codec.encode(values, exact=True))
    assert list(exact) == list(values)
    sampled = codec.decode(codec.encode(values), np.random.default_rng(0))
    numeric = sampled[sampled != ' ']
    assert (sampled == ' ').sum() == 7 and numeric.str.fullmatch(r'\d+\.\d\d').all()
    assert numeric.astype(float).between(values[7:].astype(float).min(),
                                         values[7:].astype(float).max()).all()
    for path in walk_all(codec.fragment())[:2000]:
        assert codec.decode(np.array([path + [-1] * (codec.max_length - len(path))]))[0]
    listed = codec.values_fragment(['1234.56', ' '])
    assert reachable_texts(codec, listed) == {'1234.56', ' '}
    with pytest.raises(ValueError, match="Column 'charges'"):
        codec.check_values(['12.345'])


def reachable_texts(codec, fragment):
    paths = walk_all(fragment)
    return set(codec.decode(np.array([p + [-1] * (codec.max_length - len(p)) for p in paths])))


def test_decimal_places_from_data_are_exact_for_large_values():
    import numpy as np

    from sdv_llm.schema.codecs.numerical import _decimal_places

    assert _decimal_places(np.array([-16563454.270422, 1.5])) == 6
    assert _decimal_places(np.array([-131408.5356])) == 4
    assert _decimal_places(np.array([0.1 + 0.2, 2.0])) == 1  # float noise is not a decimal
    assert _decimal_places(np.array([3.0, -4.0])) == 0
