"""Text serializations on a tiny local "pretrained" LM: round trips, validity, conditions."""

import numpy as np
import pandas as pd
import pytest
import torch

from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.pretrained.conftest import TRICKY_METADATA, tricky_table

FORMATS = ('text', 'json', 'csv')


def _same(a, b):
    a, b = pd.Series(a).reset_index(drop=True), pd.Series(b).reset_index(drop=True)
    numeric = pd.to_numeric(a, errors='coerce') == pd.to_numeric(b, errors='coerce')
    return ((a.astype(str) == b.astype(str)) | (a.isna() & b.isna()) | numeric).all()


def assert_valid(lm, sampled, num_rows):
    """Every value is one the fitted column can take (value set, range, places, nulls)."""
    assert len(sampled) == num_rows
    assert list(sampled.columns) == lm.columns
    for column in lm.schema.order:
        lm.schema.codecs[column].check_values(sampled[column])


@pytest.fixture(scope='module')
def data():
    return tricky_table(160)


@pytest.fixture(scope='module', params=FORMATS)
def fitted(request, tiny_backbone, data):
    config = TabularLMConfig(backbone=tiny_backbone, serialization=request.param, epochs=2,
                             batch_size=32, enable_gpu=False, random_state=0,
                             column_order='fixed', sample_batch_size=64,
                             privacy=False)  # round trips of every training value
    return TabularLM(config).fit(data, TRICKY_METADATA)


def test_formats_round_trip(fitted, data):
    """Encoding rows and decoding the tokens gives the values back, in every format."""
    serializer = fitted.serializer
    ids, _ = serializer.assemble(serializer.encode_blocks(data))
    back = serializer.decode(ids[:, len(serializer.prompt):])
    for column in data.columns:
        assert _same(data[column], back[column]), column


def test_tricky_values_are_quoted(fitted, data):
    """Commas, quotes and newlines inside values never end a clause."""
    texts = fitted.serializer.to_text(data)
    rows = data.reset_index(drop=True)
    row = int(np.flatnonzero(rows['name'] == 'a, b')[0])
    quoted = {'text': '"a, b"', 'json': '"a, b"', 'csv': '"a, b"'}[fitted.serializer.name]
    assert quoted in texts[row]
    row = int(np.flatnonzero(rows['name'] == 'two\nlines')[0])
    if fitted.serializer.name == 'csv':  # RFC 4180: the newline stays inside the quotes
        import csv
        import io

        header, values = list(csv.reader(io.StringIO(texts[row])))
        assert header == list(data.columns) and values[0] == 'two\nlines'
    else:
        assert texts[row].count('\n') == 1  # only the row end
    if fitted.serializer.name == 'json':
        import json

        parsed = json.loads(texts[row])
        assert parsed['name'] == 'two\nlines'
        # Booleans are JSON literals (true/false), numbers bare, missing values null.
        assert isinstance(parsed['flag'], bool) and parsed['flag'] == rows['flag'][row]
        assert parsed['count'] == rows['count'][row]
        nulls = [json.loads(t)['maybe'] for t, m in zip(texts, rows['maybe'].isna()) if m]
        assert nulls and all(value is None for value in nulls)
    # Dates are written as dates (ISO 8601 for a datetime64 column without a format).
    row = int(np.flatnonzero(rows['when'].notna())[0])
    assert rows['when'][row].strftime('%Y-%m-%d') in texts[row]


def test_every_training_row_is_a_path_of_the_automaton(fitted, data):
    """The canonical tokenization of each row is accepted, so the training loss is defined."""
    serializer, automaton = fitted.serializer, fitted.automaton
    ids, columns = serializer.assemble(serializer.encode_blocks(data))
    skip = len(serializer.prompt) - 1
    import torch

    targets = torch.as_tensor(ids[:, 1:])[:, skip:]
    states = automaton.states_along(targets, torch.as_tensor(columns)[:, skip:])
    following = automaton.transitions.step(states, targets)
    assert bool((following >= 0).all())


def test_any_tokenization_is_accepted(fitted, data):
    """Inside a clause any split is on the grammar: tokens spanning label, value and terminator,
    the canonical tokens of two halves, or single bytes."""
    serializer, automaton = fitted.serializer, fitted.automaton
    tokenizer = serializer.tokenizer
    from sdv_llm.decoding.text_automaton import _byte_decoder

    vocab = tokenizer.get_vocab()
    to_char = {b: c for c, b in _byte_decoder().items()}
    row = data.head(1)
    count = serializer.num_columns
    rng = np.random.default_rng(0)
    for slot, column in enumerate(serializer.schema.order):
        last = slot == count - 1
        clause = serializer._clause_texts(column, row[column], last)[0]
        cut = int(rng.integers(1, len(clause)))
        splits = [
            tokenizer(clause, add_special_tokens=False)['input_ids'],
            (tokenizer(clause[:cut], add_special_tokens=False)['input_ids']
             + tokenizer(clause[cut:], add_special_tokens=False)['input_ids']),
            [vocab[to_char[b]] for b in clause.encode('utf-8')],
        ]
        start = automaton.column_start[count + 1 + slot if last else slot].item()
        for tokens in splits:
            state = start
            for token in tokens:
                state = int(automaton.transitions.step(torch.tensor(state), torch.tensor(token)))
                assert state >= 0, (column, clause, tokens)
            assert state == automaton.hub


def test_samples_are_valid(fitted):
    sampled = fitted.sample(200)
    assert_valid(fitted, sampled, 200)
    assert sampled['name'].nunique() > 1


def test_conditions(fitted):
    """A fixed value, a value list and a range; CSV keeps its header order."""
    conditions = {'name': 'a, b', 'count': (10, 20), 'flag': [True],
                  'when': (pd.Timestamp('2020-02-25'), pd.Timestamp('2020-03-05'))}
    sampled = fitted.sample(40, conditions=conditions)
    assert_valid(fitted, sampled, 40)
    assert sampled['when'].between(pd.Timestamp('2020-02-25'), pd.Timestamp('2020-03-05')).all()
    assert (sampled['name'] == 'a, b').all()
    assert sampled['count'].between(10, 20).all()
    assert sampled['flag'].all()
    with pytest.raises(ValueError, match="'count'"):
        fitted.sample(5, conditions={'count': 1000})


def test_known_values_and_imputation(fitted, data):
    known = data[['name', 'amount']].head(30).reset_index(drop=True)
    if fitted.serializer.name == 'csv':
        with pytest.raises(ValueError, match="header's column order"):
            fitted.sample_known(known)
        return
    sampled = fitted.sample_known(known)
    assert_valid(fitted, sampled, 30)
    assert _same(sampled['name'], known['name']) and _same(sampled['amount'], known['amount'])
    filled = fitted.sample_known(data[['maybe']].head(30), allow_null=False,
                                 known_mask=np.zeros((30, 1), dtype=bool))
    assert filled['maybe'].notna().all()


def test_complete_known_rows_are_returned(fitted, data):
    known = data.head(4).reset_index(drop=True)
    mask = np.ones(known.shape, dtype=bool)
    complete = fitted.sample_known(known, known_mask=mask)  # nothing to sample, any format
    assert all(_same(complete[c], known[c]) for c in known.columns)
    mask[2:, 0] = False
    if fitted.serializer.name == 'csv':
        with pytest.raises(ValueError, match="header's column order"):
            fitted.sample_known(known, known_mask=mask)
        return
    sampled = fitted.sample_known(known, known_mask=mask)
    assert _same(sampled['amount'], known['amount'])
    assert _same(sampled['name'].head(2), known['name'].head(2))


def test_a_sparse_transition_table_samples_the_same_rows(fitted, monkeypatch):
    """Large vocabularies get the sparse layout; it decodes exactly as the dense one."""
    from sdv_llm.decoding import transitions

    fitted.set_random_state(5)
    expected = fitted.sample(30)
    dense = fitted.automaton
    monkeypatch.setattr(transitions, 'DENSE_LIMIT', 0)
    fitted._compile_grammar()
    try:
        assert fitted.automaton.transitions.sparse and not dense.transitions.sparse
        assert fitted.automaton.transitions.nbytes < dense.transitions.nbytes / 10
        fitted.set_random_state(5)
        pd.testing.assert_frame_equal(fitted.sample(30), expected)
    finally:
        fitted.automaton = dense
