"""Fuzzing LLMSynthesizer with generated tables, metadata, constraints and conditions.

Each case fits a tiny model and then either samples exactly the asked rows with SDV's
Diagnostic at 1.0 and every constraint met, or raises an SDV-style error (``InvalidDataError``,
``SynthesizerInputError``, ``InvalidMetadataError``, ``ConstraintNotMetError``); a raw
traceback from pandas, rdt, torch or transformers fails the case. CI runs a few dozen cases;
set ``SDV_LLM_FUZZ_EXAMPLES=1000`` (and ``SDV_LLM_FUZZ_LOG=outcomes.txt``) for the nightly
run.
"""

import os
import string
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdv.cag import FixedCombinations, FixedIncrements, Inequality
from sdv.cag._errors import ConstraintNotMetError
from sdv.errors import InvalidDataError, SynthesizerInputError
from sdv.evaluation import run_diagnostic
from sdv.metadata import Metadata
from sdv.metadata.errors import InvalidMetadataError

from sdv_llm.single_table import LLMSynthesizer

EXAMPLES = int(os.environ.get('SDV_LLM_FUZZ_EXAMPLES', '12'))
#: A file to append each case's outcome to (``sampled`` or the SDV error's class), for the count
#: of cases and outcomes of a long run.
LOG = os.environ.get('SDV_LLM_FUZZ_LOG')
TINY = {'epochs': 1, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0}
SDV_ERRORS = (InvalidDataError, SynthesizerInputError, InvalidMetadataError,
              ConstraintNotMetError)
_TEXT = string.ascii_letters + string.digits + ' ,"\n' + 'éüñ漢字'


@st.composite
def tables(draw):
    """A table of 1 to 2,000 rows and 1 to 60 columns of mixed sdtypes, with missing values."""
    num_rows = draw(st.integers(1, 2000))
    num_columns = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    columns, sdtypes = {}, {}
    for index in range(num_columns):
        kind = draw(st.sampled_from(['int', 'float', 'category', 'bool', 'datetime', 'text']))
        name = f'c{index}_{kind}'
        if kind == 'int':
            low = draw(st.integers(-10**6, 10**6))
            values = pd.Series(rng.integers(low, low + draw(st.integers(1, 10**4)), num_rows))
            sdtypes[name] = 'numerical'
        elif kind == 'float':
            scale = 10.0 ** draw(st.integers(-6, 9))
            values = pd.Series(np.round(rng.normal(0, scale, num_rows),
                                        draw(st.integers(0, 6))))
            sdtypes[name] = 'numerical'
        elif kind == 'category':
            alphabet = draw(st.lists(st.text(_TEXT, min_size=1, max_size=8), min_size=1,
                                     max_size=30, unique=True))
            values = pd.Series(rng.choice(alphabet, num_rows), dtype=object)
            sdtypes[name] = 'categorical'
        elif kind == 'bool':
            values = pd.Series(rng.choice([True, False], num_rows), dtype=object)
            sdtypes[name] = 'boolean'
        elif kind == 'datetime':
            start = pd.Timestamp('1990-01-01') + pd.to_timedelta(int(rng.integers(0, 10**4)),
                                                                 unit='D')
            values = pd.Series(start + pd.to_timedelta(rng.integers(0, 10**6, num_rows),
                                                       unit='min')).dt.strftime('%Y-%m-%d %H:%M')
            sdtypes[name] = 'datetime'
        else:
            values = pd.Series([''.join(rng.choice(list(_TEXT), rng.integers(1, 12)))
                                for _ in range(num_rows)], dtype=object)
            sdtypes[name] = 'categorical'
        if draw(st.booleans()) and num_rows > 1:
            values = values.mask(rng.random(num_rows) < draw(st.floats(0.0, 0.9)))
        columns[name] = values
    data = pd.DataFrame(columns)
    metadata = Metadata.detect_from_dataframes({'t': data})
    if metadata.tables['t'].primary_key:  # a unique column detected as key; sdtypes set below
        metadata.remove_primary_key('t')
    for name, sdtype in sdtypes.items():
        extra = {'datetime_format': '%Y-%m-%d %H:%M'} if sdtype == 'datetime' else {}
        metadata.update_column(name, 't', sdtype=sdtype, **extra)
    return data, metadata, rng


def _constraints(data, rng):
    """Constraints that hold on the data: an inequality of two numbers, a fixed pair, an
    increment of a third integer column."""
    found = []
    numbers = [c for c in data if c.endswith(('_int', '_float'))]
    if len(numbers) >= 2 and data[numbers[:2]].notna().all().all():
        low, high = numbers[:2]
        data[high] = data[low] + np.abs(data[high] - data[low])
        found.append(Inequality(low, high))
    categories = [c for c in data if c.endswith('_category')]
    if len(categories) >= 2:
        found.append(FixedCombinations(categories[:2]))
    integers = [c for c in data if c.endswith('_int') and c not in numbers[:2]]
    if integers:
        increment = int(rng.integers(2, 12))
        data[integers[0]] = (data[integers[0]] // increment) * increment
        found.append(FixedIncrements(integers[0], increment))
    return found


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case=tables(), num_rows=st.integers(0, 300), use_constraints=st.booleans(),
       use_conditions=st.booleans())
def test_fit_and_sample_exact_valid_rows_or_an_sdv_error(case, num_rows, use_constraints,
                                                         use_conditions):
    data, metadata, rng = case
    data = data.copy()
    constraints = _constraints(data, rng) if use_constraints else []
    outcome = 'sampled'
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            synthesizer = LLMSynthesizer(metadata, **TINY)
            if constraints:
                synthesizer.add_constraints(constraints)
            synthesizer.fit({'t': data})
            sampled = synthesizer.sample(num_rows)['t']
            assert len(sampled) == num_rows
            if constraints and num_rows:
                synthesizer.validate_constraints(sampled)
            if num_rows:
                report = run_diagnostic({'t': data}, {'t': sampled}, metadata, verbose=False)
                assert report.get_score() == pytest.approx(1.0)
            if use_conditions and num_rows:
                column = data.columns[0]
                value = data[column].dropna()
                if len(value):
                    known = pd.DataFrame({column: [value.iloc[0]] * 5})
                    rows = synthesizer.sample_remaining_columns(known)['t']
                    assert len(rows) == 5
                    if constraints:
                        synthesizer.validate_constraints(rows)
    except SDV_ERRORS as error:
        message = str(error)
        assert message and 'Traceback' not in message
        outcome = f'{type(error).__name__}: {message[:120]!r}'
        if LOG:  # keep the case for a look (data, metadata, constraints)
            pd.to_pickle((data, metadata.to_dict(),
                          [c.get_constraint_dict() for c in constraints]),
                         f'{LOG}.case{abs(hash(message)) % 10**6}.pkl')
    if LOG:
        with open(LOG, 'a') as log:
            names = ','.join(type(c).__name__ for c in constraints)
            log.write(f'{outcome}\t{data.shape[0]}x{data.shape[1]}\t{len(constraints)}\t{names}\n')
