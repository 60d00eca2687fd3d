"""Differential privacy: DP-SGD through opacus, codecs from the metadata, what is recorded."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sdv.errors import InvalidDataError, SynthesizerInputError
from sdv.metadata import Metadata

from sdv_llm import LLMSynthesizer, TabularLLM
from sdv_llm.parameters import validate_parameters
from sdv_llm.schema import CodecOptions, TableSchema
from tests.conftest import TINY

CITIES = ['Lyon', 'Oslo', 'Rome', 'Kyiv']  # 'Kyiv' is declared and never in the data
DP = {'epsilon': 3.0, 'delta': 1e-4, 'max_grad_norm': 1.0}


def table(num_rows=120, seed=0):
    """A small table whose every value lies inside ``METADATA``'s declared sets and ranges."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        'city': rng.choice(CITIES[:3], num_rows),
        'age': rng.integers(18, 70, num_rows),
        'income': np.round(rng.gamma(2.0, 900.0, num_rows).clip(0, 9999.99), 2),
        'member': rng.choice([True, False], num_rows),
        'joined': pd.Series(pd.to_datetime('2020-01-01') + pd.to_timedelta(
            rng.integers(0, 700, num_rows), unit='D')).dt.strftime('%Y-%m-%d'),
        'grade': np.where(rng.random(num_rows) < 0.2, None, rng.choice(['A', 'B'], num_rows)),
    })


def metadata():
    """Everything a DP fit needs, declared (not detected from the rows)."""
    return Metadata.load_from_dict({'tables': {'people': {'columns': {
        'city': {'sdtype': 'categorical', 'range_values': CITIES},
        'age': {'sdtype': 'numerical', 'range_min': 0, 'range_max': 120, 'decimal_places': 0},
        'income': {'sdtype': 'numerical', 'range_min': 0, 'range_max': 10000,
                   'decimal_places': 2},
        'member': {'sdtype': 'boolean'},
        'joined': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d',
                   'range_min': '2019-01-01', 'range_max': '2022-12-31'},
        'grade': {'sdtype': 'ordinal', 'range_values': ['A', 'B', 'C']},
    }}}})


@pytest.fixture(scope='module')
def private():
    data = table()
    synthesizer = LLMSynthesizer(metadata(), differential_privacy=DP, **TINY)
    synthesizer.fit({'people': data})
    return data, synthesizer


# ------------------------------------------------------------------------- the parameter
@pytest.mark.parametrize(('value', 'message'), [
    ({'epsilon': 0.0}, "'epsilon' must be a positive"),
    ({'epsilon': -1}, "'epsilon' must be a positive"),
    ({'delta': 1e-5}, "'epsilon' is required"),
    ({'epsilon': 1.0, 'delta': 1.0}, r"'delta' must be a number in \(0, 1\)"),
    ({'epsilon': 1.0, 'max_grad_norm': 0}, "'max_grad_norm' must be a positive"),
    ({'epsilon': 1.0, 'accountant': 'moments'}, "'accountant' must be one of"),
    ({'epsilon': 1.0, 'noise': 2.0}, r"unknown keys \['noise'\]"),
    (3.0, "parameter 'differential_privacy'. It must be None or a dict of DP settings"),
])
def test_bad_settings_name_the_parameter_and_the_key(value, message):
    with pytest.raises(SynthesizerInputError, match=message) as error:
        LLMSynthesizer(metadata(), differential_privacy=value)
    assert 'differential_privacy' in str(error.value)


def test_good_settings_pass():
    validate_parameters({'differential_privacy': {'epsilon': 1, 'delta': 1e-6,
                                                  'accountant': 'prv'}})


def test_delta_must_be_below_one_over_rows():
    synthesizer = LLMSynthesizer(metadata(), differential_privacy={'epsilon': 1, 'delta': 0.1},
                                 **TINY)
    with pytest.raises(SynthesizerInputError, match=r"'delta' = 0.1 is not below 1 / rows"):
        synthesizer.fit({'people': table(40)})


# --------------------------------------------------------------- nothing from the rows
def test_fit_refuses_metadata_that_would_leak_the_values():
    detected_like = metadata()
    detected_like.update_column('city', sdtype='categorical', table_name='people')
    detected_like.update_column('age', sdtype='numerical', range_min=0, range_max=120,
                                table_name='people')  # no decimal_places
    detected_like.update_column('joined', sdtype='datetime', table_name='people')
    synthesizer = LLMSynthesizer(detected_like, differential_privacy=DP, **TINY)
    with pytest.raises(SynthesizerInputError) as error:
        synthesizer.fit({'people': table()})
    message = str(error.value)
    assert "Column 'city' (categorical) lacks 'range_values'" in message
    assert "Column 'age' (numerical) lacks 'decimal_places'" in message
    assert "Column 'joined' (datetime) lacks 'range_min', 'range_max', 'datetime_format'" \
        in message


def test_columns_learned_from_their_values_are_refused():
    spec = metadata().to_dict()
    spec['tables']['people']['columns']['note'] = {'sdtype': 'unknown'}
    data = table(40).assign(note='x')
    synthesizer = LLMSynthesizer(Metadata.load_from_dict(spec), differential_privacy=DP)
    with pytest.raises(SynthesizerInputError, match="Column 'note' has sdtype 'unknown'"):
        synthesizer.fit({'people': data})


def test_constraints_are_refused():
    from sdv.cag import Inequality

    synthesizer = LLMSynthesizer(metadata(), differential_privacy=DP)
    with pytest.raises(SynthesizerInputError, match='not supported with differential_privacy'):
        synthesizer.add_constraints([Inequality('age', 'income')])


def test_mixed_training_is_refused():
    synthesizer = LLMSynthesizer(metadata(), differential_privacy=DP,
                                 mixed_training={'baseline': 'GaussianCopulaSynthesizer'})
    with pytest.raises(SynthesizerInputError, match='mixed_training pre-trains on rows'):
        synthesizer.fit({'people': table(40)})


def test_merged_sub_tokens_are_refused():
    synthesizer = LLMSynthesizer(metadata(), differential_privacy=DP, merge_sub_tokens=True)
    with pytest.raises(SynthesizerInputError, match='merge_sub_tokens=True'):
        synthesizer.fit({'people': table(40)})


def test_scikit_learn_front_end_needs_declared_metadata():
    with pytest.raises(SynthesizerInputError, match='needs the metadata given to fit'):
        TabularLLM(differential_privacy=DP).fit(table(40))


def test_schema_is_the_same_whatever_the_rows():
    """Two disjoint data sets give the same codecs: the vocabulary, bins and value sets
    depend on the metadata alone (and an 'fd' order falls back to the table order)."""
    columns = metadata().tables['people'].columns
    options = CodecOptions(metadata_only=True, max_discrete_values=50)
    one = TableSchema.fit(table(100, seed=1), columns, options=options, column_order='fd')
    two = TableSchema.fit(table(30, seed=2).iloc[:, ::-1][list(table(1).columns)], columns,
                          options=options, column_order='fd')
    assert one.order == two.order == list(columns) and one.order_mode == 'fixed'
    for column in columns:
        assert one.codecs[column].tokens == two.codecs[column].tokens, column
    assert one.codecs['city'].categories == CITIES
    income = one.codecs['income']
    edges = income.bins.edges
    # equal widths up to rounding, after a one-value bin for the range's lower bound (0 here)
    assert income.mode == 'bins' and edges[0] == 0 and edges[1] == 1 \
        and edges[-1] == 1_000_001 and len(np.unique(np.diff(edges[1:])[1:-1])) <= 2


def test_schema_names_the_missing_key():
    with pytest.raises(InvalidDataError, match=r"Column 'n' \(numerical\) lacks 'range_max'"):
        TableSchema.fit(pd.DataFrame({'n': [1, 2]}),
                        {'n': {'sdtype': 'numerical', 'range_min': 0, 'decimal_places': 0}},
                        options=CodecOptions(metadata_only=True))


def test_data_processor_keeps_nothing_from_the_rows():
    """SDV's formatters clip to the metadata range (not the data's min and max) and PII
    fakers are seeded from the column name (not the first values)."""
    states = []
    for seed in (1, 2):
        data = table(60, seed).assign(email=[f'u{seed}{i}@x.org' for i in range(60)])
        spec = metadata().to_dict()
        spec['tables']['people']['columns']['email'] = {'sdtype': 'email', 'pii': True}
        synthesizer = LLMSynthesizer(Metadata.load_from_dict(spec), differential_privacy=DP)
        synthesizer.preprocess({'people': data})
        processor = synthesizer._data_processor
        age = processor.formatters['age']
        assert (age._min_value, age._max_value) == (0, 120)
        faker = processor._hyper_transformer.field_transformers['email']
        states.append((faker._faker_random_seed, faker._nan_frequency))
    assert states[0] == states[1]


# -------------------------------------------------------------------- the private fit
def test_private_fit_samples_exactly_n_valid_rows(private):
    _, synthesizer = private
    sampled = synthesizer.sample(60)['people']
    assert len(sampled) == 60
    assert set(sampled['city'].dropna()) <= set(CITIES)
    assert set(sampled['grade'].dropna()) <= {'A', 'B', 'C'}
    assert sampled['age'].between(0, 120).all()
    assert sampled['income'].dropna().between(0, 10000).all()
    assert (np.round(sampled['income'].dropna(), 2) == sampled['income'].dropna()).all()
    joined = pd.to_datetime(sampled['joined'].dropna(), format='%Y-%m-%d')
    assert joined.between('2019-01-01', '2022-12-31').all()
    codec = synthesizer._model.schema.codecs['city']
    assert codec.categories == CITIES  # 'Kyiv' is in the vocabulary, never seen


def test_recorded_epsilon_is_opacus_accountants(private):
    """The epsilon spent is the RDP accountant's for the noise, sample rate and steps used,
    and the noise multiplier is opacus's for the target budget."""
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier

    data, synthesizer = private
    info = synthesizer.get_privacy_info()['differential_privacy']
    batch_size, epochs = TINY['batch_size'], TINY['epochs']
    sample_rate = 1 / int(np.ceil(len(data) / batch_size))
    assert info['sample_rate'] == pytest.approx(sample_rate)
    assert info['steps'] == epochs * int(np.ceil(len(data) / batch_size))
    sigma = get_noise_multiplier(target_epsilon=DP['epsilon'], target_delta=DP['delta'],
                                 sample_rate=sample_rate, epochs=epochs, accountant='rdp')
    assert info['noise_multiplier'] == pytest.approx(sigma)
    accountant = RDPAccountant()
    accountant.history = [(sigma, sample_rate, info['steps'])]
    expected = accountant.get_epsilon(DP['delta'])
    assert info['epsilon'] == pytest.approx(expected, rel=1e-9)
    assert info['epsilon'] <= DP['epsilon'] + 0.01  # opacus's search tolerance
    assert (info['delta'], info['max_grad_norm'], info['accountant']) == (1e-4, 1.0, 'rdp')
    assert info['metadata_only'] and 'opacus' in info['mechanism']


def test_loss_history_records_the_epsilon_spent(private):
    _, synthesizer = private
    losses = synthesizer.get_loss_values()
    spent = losses['Epsilon'].to_numpy()
    assert len(losses) == TINY['epochs'] and np.all(np.diff(spent) > 0)
    assert spent[-1] == pytest.approx(
        synthesizer.get_privacy_info()['differential_privacy']['epsilon'])
    assert losses['Validation Loss'].isna().all()  # no held-out rows under DP
    assert losses['Loss'].isna().all()  # the rows' loss is not private: not stored


def test_no_order_or_dependency_is_learned_from_the_rows(private):
    _, synthesizer = private
    order = synthesizer.get_column_order()
    assert order['column_order'] == 'fixed' and order['dependencies'] == []
    assert synthesizer._model.dependency_mappings == []


def test_saved_models_keep_the_privacy_record(private, tmp_path):
    _, synthesizer = private
    info = synthesizer.get_privacy_info()
    synthesizer.save_pretrained(tmp_path / 'model')
    loaded = LLMSynthesizer.from_pretrained(tmp_path / 'model')
    assert loaded.get_privacy_info() == info
    assert 'Epsilon' in loaded.get_loss_values()
    assert len(loaded.sample(20)['people']) == 20
    copy = pickle.loads(pickle.dumps(synthesizer))
    assert copy.get_privacy_info() == info


def test_without_dp_there_is_nothing_to_report(iris):
    data, iris_metadata = iris
    synthesizer = LLMSynthesizer(iris_metadata, **{**TINY, 'epochs': 1})
    from sdv.errors import NotFittedError

    with pytest.raises(NotFittedError, match='fit'):
        synthesizer.get_privacy_info()
    synthesizer.fit({'iris': data.head(40)})
    info = synthesizer.get_privacy_info()
    assert info['differential_privacy'] is None
    assert info['value_protection']['enabled'] and info['copy_filter']['enabled']
    assert 'Epsilon' not in synthesizer.get_loss_values()


# -------------------------------------------------------------- opacus and our decoder
def _decoder(vocab=30, length=9, columns=4):
    from sdv_llm.model.backbone import BackboneConfig, TabularDecoder, build_backbone

    torch.manual_seed(0)
    lm = build_backbone(BackboneConfig(16, 1, 2, 0.0), vocab, length, {'bos': 0, 'eos': 1})
    return TabularDecoder(lm, columns)


def test_per_row_gradients_are_those_of_each_row_alone():
    """opacus's per-example gradients of the embedded decoder (tied embeddings, GPT-2's
    Conv1D layers, position embeddings) equal each row's own gradient."""
    from opacus import GradSampleModule

    from sdv_llm.model.differential_privacy import register_conv1d_grad_sampler
    from sdv_llm.model.training import row_mean_loss

    register_conv1d_grad_sampler()
    model = _decoder()
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 30, (3, 9), generator=generator)
    columns = torch.randint(0, 5, (3, 8), generator=generator)
    labels = ids[:, 1:].clone()
    labels[0, 5:] = -100  # rows of different lengths

    def loss(network, rows):
        positions = torch.arange(8).expand(len(rows), -1)
        logits = network(input_ids=ids[rows, :-1], next_columns=columns[rows],
                         position_ids=positions).logits
        return row_mean_loss(logits, labels[rows], torch.ones_like(logits, dtype=torch.bool))

    single = []
    for row in range(3):
        model.zero_grad()
        loss(model, torch.tensor([row])).backward()
        single.append({name: p.grad.clone() for name, p in model.named_parameters()})
    wrapped = GradSampleModule(model)
    loss(wrapped, torch.arange(3)).backward()
    for name, p in model.named_parameters():
        for row in range(3):
            assert torch.allclose(p.grad_sample[row], single[row][name], atol=1e-6), name
    wrapped._close()


def test_an_empty_poisson_batch_is_a_noise_step():
    from sdv_llm.model.differential_privacy import PrivateTraining, settings

    model = _decoder()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    run = PrivateTraining(model, optimizer, 100, 10, 1, settings({'epsilon': 1.0}),
                          torch.device('cpu'))
    run.empty_step()
    assert run.steps() == 1 and run.epsilon() > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    run.close()
    assert not hasattr(next(model.parameters()), 'grad_sample')


def test_a_budget_opacus_cannot_meet_is_a_clear_error():
    synthesizer = LLMSynthesizer(metadata(), differential_privacy={'epsilon': 0.01}, **TINY)
    with pytest.raises(SynthesizerInputError, match='opacus cannot reach epsilon=0.01'):
        synthesizer.fit({'people': table(60)})


def test_metadata_bins_keep_zero_and_the_lower_bound_exact():
    """Bins from the metadata alone give the range's lower bound and zero a bin of one value
    each, so a point mass there (zero-inflated amounts) comes back exact, not spread over an
    equal-width bin by its uniformly drawn last digits."""
    from sdv_llm.schema.codecs.bins import QuantileBins

    bins = QuantileBins.uniform(-500, 99_999, max_bins=10)
    edges = bins.edges.tolist()
    assert edges[:2] == [-500, -499] and {0, 1} <= set(edges) and edges[-1] == 100_000
    assert edges == sorted(set(edges)) and bins.num_bins <= 13
    rng = np.random.default_rng(0)
    for value in (-500, 0):
        tokens = bins.encode(np.full(200, value, dtype=np.int64))
        assert (bins.decode(tokens, rng) == value).all()
    positive = QuantileBins.uniform(3, 50_000, max_bins=10).edges.tolist()
    assert positive[:2] == [3, 4] and 0 not in positive
