"""Protection in the model (privacy=): value protection, the copy filter, DCR early stopping."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sdv.errors import NotFittedError, SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm import LLMSynthesizer
from sdv_llm.model.privacy import CopyFilter, privacy_settings, row_keys
from sdv_llm.schema import TableSchema
from sdv_llm.schema.protection import ValueProtection


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """One torch thread: these tiny models train several times faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
        'enable_gpu': False, 'random_state': 0, 'sample_batch_size': 1024}


def _metadata(data, categorical=()):
    metadata = Metadata.detect_from_dataframes({'t': data})
    for column in categorical:
        metadata.update_column(column, sdtype='categorical', table_name='t')
    return metadata


@pytest.fixture(scope='module')
def rare():
    """300 rows: a category seen once, numbers with extremes, fitted with the defaults."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({'colour': rng.choice(['red', 'green', 'blue'], 300),
                         'size': rng.normal(size=300).round(2),
                         'age': rng.integers(18, 80, 300)})
    data.loc[7, 'colour'] = 'violet'
    data.loc[8, 'size'] = 9.99
    data.loc[9, 'age'] = 95
    synthesizer = LLMSynthesizer(_metadata(data, ['colour']), **TINY)
    synthesizer.fit({'t': data})
    return data, synthesizer


def test_settings():
    assert privacy_settings(None)['value_protection'] and privacy_settings(None)['copy_filter']
    assert privacy_settings(None)['early_stopping'] is None
    off = privacy_settings(False)
    assert not off['value_protection'] and not off['copy_filter']
    assert privacy_settings({'early_stopping': 'dcr'})['copy_filter']
    with pytest.raises(ValueError, match='Unknown privacy settings'):
        privacy_settings({'copyfilter': True})
    with pytest.raises(NotFittedError):
        LLMSynthesizer(_metadata(pd.DataFrame({'a': [1, 2]}))).get_privacy_info()
    with pytest.raises(SynthesizerInputError, match="parameter 'privacy'"):
        LLMSynthesizer(_metadata(pd.DataFrame({'a': [1, 2]})),
                       privacy={'early_stopping': 'loss'})


def test_cli_option():
    from sdv_llm.cli import build_parser
    from sdv_llm.parameters import cli_parameters

    def parsed(text):
        return cli_parameters(build_parser().parse_args(['fit', 'd.csv', '-o', 'm.pkl',
                                                         '--privacy', text]))['privacy']

    assert parsed('off') is False and parsed('on') is None
    assert parsed('{"early_stopping": "dcr", "dcr_rows": 200}') == {'early_stopping': 'dcr',
                                                                   'dcr_rows': 200}
    with pytest.raises(SystemExit):
        parsed('[1]')


def test_protected_codecs_keep_no_hidden_value():
    values = pd.DataFrame({'c': ['a'] * 10 + ['b'] * 10 + ['once'],
                           'x': list(range(20)) + [1000]})
    # SDV's metadata detection writes every data value and the range into the metadata
    metadata = {'c': {'sdtype': 'categorical', 'range_values': ['once', 'never', 'a', 'b']},
                'x': {'sdtype': 'numerical', 'range_min': 0, 'range_max': 1000}}
    schema = TableSchema.fit(values, metadata,
                             protection=ValueProtection(threshold=5, noise=0))
    codec = schema.codecs['c']
    assert codec.categories == ['a', 'b'] and codec.tokens[-1] == '<rare>'  # not 'never'
    assert codec.encode(values['c'])[-1, 0] == 2           # <rare> while training rows encode
    assert 2 not in codec.sampling_fragment().transitions[0]
    schema.release_training_values()
    with pytest.raises(ValueError, match='Value protection'):
        codec.check_values(pd.Series(['once']))
    numbers = schema.codecs['x']
    assert (numbers.low, numbers.high) == (5, 15)          # the 5th smallest and largest
    assert schema.protection_summary() == {
        'hidden_categories': {'c': {'categories': 1, 'rows': 1}},
        'clipped': {'x': {'low': 5, 'high': 5}}, 'unprotected': []}
    assert 'once' not in repr(vars(codec)) and 1000 not in numbers.discrete


def test_value_protection_hides_a_category_seen_once(rare):
    data, synthesizer = rare
    sampled = synthesizer.sample(2000)['t']
    assert len(sampled) == 2000
    assert set(sampled['colour']) <= {'red', 'green', 'blue'}   # no 'violet', no '<rare>'
    assert sampled['colour'].notna().all()
    # extremes are not reproduced: inside the k-th smallest and largest values
    for column in ('size', 'age'):
        ordered = np.sort(data[column].to_numpy())
        assert sampled[column].min() >= ordered[5] > ordered[0]
        assert sampled[column].max() <= ordered[-6] < ordered[-1]
    with pytest.raises(SynthesizerInputError, match='Value protection'):
        synthesizer.sample(5, conditions={'colour': 'violet'})['t']
    for condition in ([9.99], (9.0, None)):  # values the model would have to generate
        with pytest.raises(SynthesizerInputError, match='Value protection'):
            synthesizer.sample(5, conditions={'size': condition})
    # a known value is kept as given (the model sees the nearest protected bound)
    assert (synthesizer.sample(5, conditions={'size': 9.99})['t']['size'] == 9.99).all()
    known = data.loc[[8, 9], ['size', 'age']].reset_index(drop=True)
    filled = synthesizer.sample_remaining_columns(known)['t']
    assert filled[['size', 'age']].equals(known) and set(filled['colour']) <= {'red', 'green',
                                                                               'blue'}


def test_privacy_info(rare):
    _, synthesizer = rare
    synthesizer.sample(500)['t']
    info = synthesizer.get_privacy_info()
    protection = info['value_protection']
    assert protection['enabled'] and protection['hidden_categories'] == {
        'colour': {'categories': 1, 'rows': 1}}
    assert set(protection['clipped']) == {'size', 'age'}
    assert all(1 <= c['high'] <= 7 for c in protection['clipped'].values())
    assert 'violet' not in repr(info)
    copies = info['copy_filter']
    assert copies['enabled'] and copies['reference'] == 'duplicates, 95% lower bound'
    assert copies['holdout_rows'] == len(rare[0]) and 0 <= copies['holdout_copy_rate'] <= 1
    assert copies['distinct_rows_hashed'] == len(rare[0].drop_duplicates())
    assert copies['last_sample']['rows'] == 500
    assert info['early_stopping'] == {'mode': None}


def test_copy_filter_keeps_copies_at_the_holdout_rate():
    """A table where about half the rows any model samples are copies: each ``a`` holds 3
    of the 6 values of ``c`` (all rows distinct)."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame([(f'a{i}', str(c)) for i in range(10)
                         for c in rng.choice(list('uvwxyz'), 3, replace=False)],
                        columns=['a', 'c'])
    synthesizer = LLMSynthesizer(_metadata(data, 'ac'), **TINY, validation_fraction=0.0,
                                 privacy={'value_protection': False})
    synthesizer.fit({'t': data})
    model = synthesizer._model
    assert model.copy_filter.reference.startswith('duplicates')
    assert model.copy_filter.holdout_rate == 0

    def copy_share(rows):
        return rows.merge(data.drop_duplicates(), how='inner').shape[0] / len(rows)

    unfiltered, model.copy_filter = model.copy_filter, None
    assert copy_share(synthesizer.sample(400)['t']) > 0.3
    model.copy_filter = unfiltered
    sampled = synthesizer.sample(400)['t']
    assert len(sampled) == 400 and copy_share(sampled) == 0
    last = synthesizer.get_privacy_info()['copy_filter']['last_sample']
    assert last['copies_found'] > 120 and last['rows_resampled'] >= last['copies_found']
    assert last['copies_kept'] == last['copies_over_limit'] == 0
    # conditions and known columns: still exactly n rows, no copy
    conditioned = synthesizer.sample(50, conditions={'a': 'a2'})['t']
    assert len(conditioned) == 50 and (conditioned['a'] == 'a2').all()
    assert copy_share(conditioned) == 0
    filled = synthesizer.sample_remaining_columns(pd.DataFrame({'a': ['a1'] * 20}))['t']
    assert len(filled) == 20 and copy_share(filled) == 0
    # conditions that leave only a training row: kept (n rows), counted, warned about
    with pytest.warns(UserWarning, match='still equal a training row'):
        forced = synthesizer.sample(5, conditions={'a': data['a'][0],
                                                   'c': [data['c'][0]]})['t']
    assert len(forced) == 5 and copy_share(forced) == 1
    assert synthesizer.get_privacy_info()['copy_filter']['last_sample']['copies_over_limit'] == 5


def test_copy_filter_allows_the_holdout_rate():
    """The rate is the share of rows equal to another row, lowered to its one-sided Wilson
    bound (scipy's, checked against the closed form)."""
    from scipy.stats import norm

    hashes = CopyFilter.fit([f'row{i % 50}' for i in range(100)], confidence=0.5)
    assert hashes.holdout_rate == 1.0 and hashes.allowed(7) == 7
    assert len(hashes.hashes) == 50 and hashes.holdout_rows == 100
    assert hashes.copies(['row3', 'new']).tolist() == [True, False]
    other = CopyFilter.fit([f'row{i % 50}' for i in range(100)])
    assert other.reference == 'duplicates, 95% lower bound'
    assert not np.isin(other.hashes, hashes.hashes).any()
    # 300 of 1,000 rows equal another row (100 values three times each, 700 distinct)
    keys = [f'dup{i % 100}' for i in range(300)] + [f'one{i}' for i in range(700)]
    bounded = CopyFilter.fit(keys)
    p, n, z = 0.3, 1000, norm.ppf(0.95)
    wilson = (p + z**2 / (2 * n) - z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))) \
        / (1 + z**2 / n)
    assert bounded.holdout_rate == pytest.approx(wilson) and 0.27 < wilson < 0.3
    assert bounded.allowed(1000) == 276
    assert CopyFilter.fit([f'one{i}' for i in range(50)]).holdout_rate == 0
    assert CopyFilter.fit([]).holdout_rate == 0


def test_persistence_round_trip(rare, tmp_path):
    data, synthesizer = rare
    synthesizer.save_pretrained(tmp_path / 'model')
    assert 'violet' not in (tmp_path / 'model' / 'model.json').read_text()
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    unpickled = pickle.loads(pickle.dumps(synthesizer))
    keys = row_keys(synthesizer._model.schema, data, synthesizer._model.columns)
    for copy in (loaded, unpickled):
        assert copy._model.copy_filter.copies(keys).all()
        assert copy.get_privacy_info()['value_protection'] == \
            synthesizer.get_privacy_info()['value_protection']
        synthesizer.reset_sampling()
        copy.reset_sampling()
        pd.testing.assert_frame_equal(copy.sample(200)['t'], synthesizer.sample(200)['t'])


def test_dcr_early_stopping_stops_an_overfitting_fit():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({c: rng.choice(list('abcdef'), 60) for c in 'wxyz'})
    parameters = {**TINY, 'epochs': 60, 'batch_size': 32, 'embedding_dim': 32,
                  'learning_rate': 3e-2, 'dropout': 0.0, 'patience': 1000,
                  'validation_fraction': 0.5}
    synthesizer = LLMSynthesizer(_metadata(data, 'wxyz'), **parameters, privacy={
        'early_stopping': 'dcr', 'dcr_every': 3, 'dcr_rows': 60, 'dcr_patience': 1,
        'value_protection': False})
    synthesizer.fit({'t': data})
    report = synthesizer.get_privacy_info()['early_stopping']
    assert report['mode'] == 'dcr' and report['null_share'] < report['threshold']
    assert report['threshold'] < report['copy_share']
    assert report['stopped_epoch'] is not None and report['stopped_epoch'] < 59
    assert report['checks'][-1]['dcr_share'] > report['threshold']
    assert report['restored'].startswith('best validation loss')
    assert len(synthesizer.get_loss_values()) == report['stopped_epoch'] + 1


def test_dcr_early_stopping_needs_validation_rows():
    data = pd.DataFrame({'a': list('abcde') * 4})
    synthesizer = LLMSynthesizer(_metadata(data, 'a'), **TINY, validation_fraction=0.0,
                                 privacy={'early_stopping': 'dcr'})
    with pytest.raises(ValueError, match='validation_fraction'):
        synthesizer.fit({'t': data})
