"""The token automaton and the batched sampler: every sampled sequence is a valid row."""

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from sdv_llm.decoding.automaton import TokenAutomaton
from sdv_llm.decoding.conditions import build_plan
from sdv_llm.decoding.kv_cache import preallocated_cache
from sdv_llm.decoding.sampler import sample_sequences
from sdv_llm.model.backbone import BackboneConfig, TabularDecoder, build_backbone
from sdv_llm.schema import TableSchema
from sdv_llm.serialization.compact import BOS, EOS, CompactSerializer


def _setup(data, metadata, name, **kwargs):
    schema = TableSchema.fit(data, metadata.to_dict()['tables'][name]['columns'], **kwargs)
    serializer = CompactSerializer(schema)
    return serializer, TokenAutomaton.compile(serializer)


def _decoder(serializer, width=16, layers=1):
    torch.manual_seed(0)
    lm = build_backbone(BackboneConfig(width, layers, 2, 0.0), serializer.vocab_size,
                        serializer.max_length, {'bos': BOS, 'eos': EOS})
    return TabularDecoder(lm, serializer.num_columns).eval()


def _sample(serializer, automaton, num_rows, seed=1, random_order=False, temperature=3.0,
            top_p=1.0, **conditions):
    plan = build_plan(serializer, automaton, num_rows, np.random.default_rng(seed),
                      random_order, **conditions)
    ids = sample_sequences(_decoder(serializer), plan, 256, torch.device('cpu'),
                           torch.Generator().manual_seed(seed), temperature=temperature,
                           top_p=top_p, max_length=serializer.max_length - 1)
    assert ids.shape == (num_rows, serializer.max_length - 1)
    assert ((ids == EOS).sum(axis=1) == 1).all()
    return serializer.decode(ids)


@pytest.mark.parametrize('random_orders', [False, True])
def test_training_rows_are_paths_of_the_automaton(titanic, random_orders):
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    orders = None
    if random_orders:
        rng = np.random.default_rng(0)
        orders = np.argsort(rng.random((len(data), serializer.num_columns)), axis=1)
    targets = torch.as_tensor(serializer.encode(data, orders)[:, 1:])
    states = automaton.states_along(targets, serializer.next_columns(targets))
    allowed = automaton.transitions.step(states, targets) >= 0
    assert bool(allowed.all())
    assert serializer.decode(targets.numpy()).equals(
        serializer.decode(serializer.encode(data)[:, 1:]))


def test_untrained_model_samples_only_valid_rows(titanic):
    """A random model puts mass everywhere, so this exercises the mask, not the learning."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    for random_order in (False, True):
        table = _sample(serializer, automaton, 700, random_order=random_order)
        _check_valid(table, metadata)


def _check_valid(table, metadata):
    columns = metadata.to_dict()['tables']['titanic']['columns']
    for column, spec in columns.items():
        values = table[column]
        if spec['sdtype'] == 'numerical':
            present = values.dropna().astype(float)
            assert present.between(spec['range_min'], spec['range_max']).all(), column
        else:
            allowed = set(map(str, spec['range_values']))
            assert set(values.dropna().astype(str)) <= allowed, column
    assert table['age'].isna().any() and table['age'].notna().any()


def test_top_p_and_temperature_keep_rows_valid(iris):
    data, metadata = iris
    serializer, automaton = _setup(data, metadata, 'iris')
    table = _sample(serializer, automaton, 100, temperature=0.5, top_p=0.3)
    assert table['sepal length (cm)'].between(4.3, 7.9).all()
    assert set(table['species']) <= {'setosa', 'versicolor', 'virginica'}
    # The same rows without the nucleus vary; a nucleus of the single likeliest token is
    # greedy decoding, and every row of the same (fixed-order) context is the same row.
    assert len(_sample(serializer, automaton, 100, temperature=0.5).drop_duplicates()) > 10
    assert len(_sample(serializer, automaton, 100, temperature=0.5, top_p=1e-6)
               .drop_duplicates()) == 1


def test_top_p_keeps_the_smallest_set_of_likeliest_tokens_that_reaches_p():
    from sdv_llm.decoding.sampler import _top_p_filter

    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]])
    for top_p, kept in ((0.4, [1]), (0.7, [1, 3]), (0.75, [1, 3]), (0.9, [1, 2, 3]),
                        (0.99, [0, 1, 2, 3])):
        filtered = _top_p_filter(probs.log(), top_p)
        assert torch.isfinite(filtered[0]).nonzero().flatten().tolist() == kept, top_p
        torch.testing.assert_close(filtered[0, kept], probs.log()[0, kept])


def test_preallocated_cache_matches_the_dynamic_cache(iris):

    data, metadata = iris
    serializer, _ = _setup(data, metadata, 'iris')
    model = _decoder(serializer, layers=2)
    ids = torch.as_tensor(serializer.encode(data.head(8)))
    columns = serializer.next_columns(torch.cat([ids[:, 1:], ids[:, :1]], dim=1))
    with torch.no_grad():
        full = model(input_ids=ids, next_columns=columns).logits
        for attention in ('sdpa', 'eager'):  # the sampler switches to eager for cached steps
            model.lm.set_attn_implementation(attention)
            cache = preallocated_cache(model, ids.shape[1])
            steps = [model(input_ids=ids[:, t : t + 1], next_columns=columns[:, t : t + 1],
                           past_key_values=cache, use_cache=True).logits
                     for t in range(ids.shape[1])]
            torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_inverse_cdf_draw_matches_the_probabilities_and_the_mask():
    from sdv_llm.decoding.sampler import _draw

    probs = torch.tensor([0.0, 0.5, 0.0, 0.2, 0.3, 0.0]).repeat(200_000, 1)
    allowed = probs > 0
    tokens = _draw(probs, allowed, torch.Generator().manual_seed(0))
    counts = torch.bincount(tokens, minlength=6).double() / len(tokens)
    torch.testing.assert_close(counts, probs[0].double(), atol=5e-3, rtol=0)


def test_conditions_are_met_by_every_row(titanic):
    """Fixed values, value sets and ranges, on an untrained model that puts mass everywhere."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    known = data[['sex', 'pclass', 'age']].head(300).reset_index(drop=True)
    mask = np.ones(known.shape, dtype=bool)
    mask[::3, 2] = False  # some rows leave age free
    for random_order in (False, True):
        table = _sample(serializer, automaton, 300, random_order=random_order, known=known,
                        known_mask=mask, constraints={'fare': ('range', 10.5, 20),
                                                      'embarked': ('values', ['C', 'Q'])})
        _check_valid(table, metadata)
        assert table['sex'].equals(known['sex'])
        assert (table['pclass'] == known['pclass']).all()
        fixed_age = known['age'][mask[:, 2]]
        assert np.allclose(table["age"][mask[:, 2]].astype(float), fixed_age.astype(float),
                           equal_nan=True)
        assert table['fare'].between(10.5, 20).all()
        assert set(table['embarked']) == {'C', 'Q'}


def test_conditions_the_column_cannot_take_raise_a_named_error(titanic):
    import pandas as pd

    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="'sex'"):
        build_plan(serializer, automaton, 2, rng, known=pd.DataFrame({'sex': ['x', 'male']}))
    with pytest.raises(ValueError, match="'fare'"):
        build_plan(serializer, automaton, 1, rng, known=pd.DataFrame({'fare': [1e9]}))
    with pytest.raises(ValueError, match="'fare'"):
        build_plan(serializer, automaton, 1, rng, constraints={'fare': ('range', 1e8, 1e9)})
    with pytest.raises(ValueError, match="'sex'"):
        build_plan(serializer, automaton, 1, rng, constraints={'sex': ('range', 0, 1)})
    with pytest.raises(ValueError, match='nope'):
        build_plan(serializer, automaton, 1, rng, constraints={'nope': ('values', [1])})


def test_token_windows_give_the_full_vocabulary_distribution(titanic):
    """The windowed output layer (and the plain-tensor decoding step under it) computes the
    same allowed probabilities as the full one through transformers."""
    from sdv_llm.decoding.sampler import FullVocabulary, TokenWindows

    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, layers=2)
    model.lm.set_attn_implementation('eager')
    windows = TokenWindows(model, automaton, automaton.window_table())
    full = FullVocabulary(model, automaton)
    ids = torch.as_tensor(serializer.encode(data.head(64)))
    targets = ids[:, 1:]
    columns = serializer.next_columns(targets)
    states = automaton.states_along(targets, columns)
    caches = [windows.cache(64, ids.shape[1]), full.cache(64, ids.shape[1])]
    with torch.no_grad():
        for t in range(targets.shape[1]):
            inputs, column = ids[:, t:t + 1], columns[:, t:t + 1]
            local, local_allowed, offset, _ = windows.step(inputs, column, caches[0], states[:, t])
            logits, allowed, _, _ = full.step(inputs, column, caches[1], states[:, t])
            window = torch.softmax(local.masked_fill(~local_allowed, float('-inf')), dim=-1)
            whole = torch.softmax(logits.masked_fill(~allowed, float('-inf')), dim=-1)
            rows, index = torch.nonzero(local_allowed, as_tuple=True)
            assert int(allowed.sum()) == len(rows)  # the window holds every allowed token
            torch.testing.assert_close(window[rows, index], whole[rows, index + offset[rows]])


def test_windowed_and_full_sampling_agree(titanic):
    """The same seed draws the same rows through either output layer."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, layers=2)
    plan = build_plan(serializer, automaton, 300, np.random.default_rng(0))
    windowed = sample_sequences(model, plan, 128, torch.device('cpu'),
                                torch.Generator().manual_seed(3), temperature=2.0)
    without = type('Plain', (), {'__init__': lambda self, m: setattr(self, 'm', m),
                                 '__call__': lambda self, **k: self.m(**k),
                                 'modules': lambda self: self.m.modules(),
                                 'windowed': False,
                                 'max_positions': property(lambda self: self.m.max_positions),
                                 'kv_cache_bytes': lambda self, *a: self.m.kv_cache_bytes(*a),
                                 'full_cache': lambda self, c: self.m.full_cache(c),
                                 'config': property(lambda self: self.m.config)})(model)
    full = sample_sequences(without, plan, 128, torch.device('cpu'),
                            torch.Generator().manual_seed(3), temperature=2.0)
    assert not hasattr(without, 'last_hidden')  # sample_sequences took FullVocabulary
    assert (windowed == full).mean() > 0.99


@pytest.mark.parametrize('random_order', [False, True])
def test_each_step_computes_only_its_widest_window(titanic, monkeypatch, random_order):
    """A step's logits are as wide as the widest window its rows read (never narrower than
    the special tokens'), and the rows drawn are those of table-wide windows: fixed order
    (every row in one window) and random order (rows spread over windows)."""
    from sdv_llm.decoding import sampler

    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, layers=2)
    plan = build_plan(serializer, automaton, 300, np.random.default_rng(0), random_order)
    windows = automaton.windows
    own = (windows[:, 1] - windows[:, 0]).clamp_min(int(windows[windows[:, 0] == 0, 1].max()))
    seen = []
    window_of = sampler.TokenWindows._window

    def spy(self, hidden, state):
        logits, allowed, offset = window_of(self, hidden, state)
        assert logits.shape == allowed.shape
        seen.append((logits.shape[1], int(own[self.state_window[state]].max())))
        return logits, allowed, offset

    monkeypatch.setattr(sampler.TokenWindows, '_window', spy)

    def draw():
        return sample_sequences(model, plan, 128, torch.device('cpu'),  # spied here: 1 process
                                torch.Generator().manual_seed(3), temperature=2.0, workers=1)

    trimmed = draw()
    assert seen and all(width == widest for width, widest in seen)
    assert min(width for width, _ in seen) < automaton.window_table().shape[1]
    table_wide = sampler.TokenWindows.__init__

    def untrimmed(self, *args, **kwargs):
        table_wide(self, *args, **kwargs)
        self.widths = torch.full_like(self.widths, self.table.shape[1])

    monkeypatch.setattr(sampler.TokenWindows, '__init__', untrimmed)
    np.testing.assert_array_equal(trimmed, draw())


@pytest.mark.parametrize('random_order', [False, True])
def test_rows_do_not_depend_on_the_number_of_sampling_processes(titanic, random_order):
    """Batches drawn by forked processes (one core each) are the rows one process draws, in
    the plan's order, since each batch has its own seed; and they are valid rows."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, layers=2)
    plan = build_plan(serializer, automaton, 300, np.random.default_rng(0), random_order)

    def draw(workers, seed=3):
        return sample_sequences(model, plan, 64, torch.device('cpu'),
                                torch.Generator().manual_seed(seed), temperature=2.0,
                                workers=workers)

    alone = draw(1)
    np.testing.assert_array_equal(alone, draw(2))
    np.testing.assert_array_equal(alone, draw(3))
    assert not np.array_equal(alone, draw(2, seed=4))
    assert alone.shape[0] == 300 and ((alone == EOS).sum(axis=1) == 1).all()
    assert len(serializer.decode(alone, orders=plan.columns[:, :-1])) == 300


def _tenfold(item):
    return item * 10


def _fail_on(bad):
    def run(item):
        if item == bad:
            raise ValueError(f'batch {item} failed')
        return item * 10
    return run


def test_batches_shared_among_processes_come_back_in_order_and_errors_are_raised_here():
    """Item 1 goes to the forked process and item 0 to the caller: an error in either is
    raised in the caller (and the other process is still reaped), and the caller's thread
    count is restored."""
    from sdv_llm.decoding.workers import map_batches

    threads = torch.get_num_threads()
    assert map_batches(_tenfold, list(range(7)), 3) == [0, 10, 20, 30, 40, 50, 60]
    assert map_batches(_tenfold, [], 2) == []
    for bad in (0, 1):
        with pytest.raises(ValueError, match=f'batch {bad} failed'):
            map_batches(_fail_on(bad), list(range(4)), 2)
    with pytest.raises(RuntimeError, match='could not send its result back'):
        map_batches(lambda item: threading.Lock() if item == 1 else item, [0, 1, 2], 2)
    assert torch.get_num_threads() == threads


def test_sampled_tables_do_not_depend_on_the_number_of_processes(titanic, tiny):
    """End to end through the synthesizer (decoding and the copy filter included): the
    same seed gives the same table with 1 and 2 processes; 1,200 rows make 3 batches."""
    from sdv_llm.single_table import LLMSynthesizer

    data, metadata = titanic
    tables = []
    for processes in (1, 2):
        synthesizer = LLMSynthesizer(metadata, **tiny, sample_processes=processes)
        synthesizer.fit({'titanic': data})
        tables.append(synthesizer.sample(1_200)['titanic'])
    assert len(tables[0]) == 1_200
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_sampling_processes_only_on_a_cpu_and_never_more_than_batches():
    from sdv_llm.decoding.workers import sampling_workers

    cpu = torch.device('cpu')
    assert sampling_workers(cpu, 5, 3) == 3
    assert sampling_workers(cpu, 2, 8) == 2
    assert sampling_workers(cpu, 0, 4) == 1
    assert sampling_workers(torch.device('cuda'), 8, 4) == 1
    assert sampling_workers(cpu, 8) == min(8, torch.get_num_threads())
    with pytest.raises(ValueError, match='sampling_workers'):
        sampling_workers(cpu, 8, 0)


def test_sampling_under_bf16_autocast_keeps_rows_valid(titanic):
    """The CUDA path (bf16 autocast, bf16 KV cache), run here under the CPU's autocast."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    plan = build_plan(serializer, automaton, 300, np.random.default_rng(0), True)
    ids = sample_sequences(_decoder(serializer, layers=2), plan, 128, torch.device('cpu'),
                           torch.Generator().manual_seed(0), temperature=3.0,
                           amp_dtype=torch.bfloat16)
    assert ((ids == EOS).sum(axis=1) == 1).all()
    _check_valid(serializer.decode(ids), metadata)


def test_long_rows_are_sampled_in_batches_under_the_kv_budget(iris, monkeypatch):
    from sdv_llm.decoding import sampler

    data, metadata = iris
    serializer, automaton = _setup(data, metadata, 'iris')
    model = _decoder(serializer, layers=2)
    per_row = 2 * 2 * 16 * 100 * 4  # keys and values, 2 layers, width 16, 100 positions, fp32
    monkeypatch.setattr(sampler, 'KV_CACHE_BUDGET', 10 * per_row)
    assert sampler.cache_batch_size(model, 4096, 100) == 10
    assert sampler.cache_batch_size(model, 4, 100) == 4
    assert sampler.cache_batch_size(model, 4096, 100, torch.bfloat16) == 20
    monkeypatch.setattr(sampler, 'KV_CACHE_BUDGET', 10 * 2 * 2 * 16 * serializer.max_length * 4)
    seen = []
    original = sampler._sample
    monkeypatch.setattr(sampler, '_sample', lambda *a: seen.append(a[4] - a[3]) or original(*a))
    plan = build_plan(serializer, automaton, 25, np.random.default_rng(0))
    ids = sample_sequences(model, plan, 4096, torch.device('cpu'), torch.Generator(),
                           max_length=serializer.max_length - 1)
    assert len(ids) == 25 and seen == [6, 6, 6, 7]  # 3 batches of at most 10, made even
    # Fewer rows than REDUCED_PRECISION_MIN_ROWS run (and are sized) in float32 on a CPU.
    seen.clear()
    ids = sample_sequences(model, plan, 4096, torch.device('cpu'), torch.Generator(),
                           max_length=serializer.max_length - 1, amp_dtype=torch.bfloat16)
    assert len(ids) == 25 and seen == [6, 6, 6, 7]


@pytest.mark.parametrize('block', [32, 3])
def test_bfloat16_step_gives_the_float32_probabilities(titanic, monkeypatch, block):
    """The reduced-precision decoding step (weights cast once, keys and values laid out by
    position, float32 softmax and value sums) gives the float32 step's allowed probabilities
    within bfloat16 rounding, at every position of real rows; ``block=3`` sums the values of
    the titanic rows' positions in blocks, as the step does for long (wide-table) rows."""
    import copy

    from sdv_llm.decoding.sampler import TokenWindows
    from sdv_llm.model import decode_step

    monkeypatch.setattr(decode_step, 'POSITION_BLOCK', block)

    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, width=32, layers=2)
    with torch.no_grad():  # peaked attention, so that a wrong score or weight shows
        for layer in model.lm.transformer.h:
            layer.attn.c_attn.weight.normal_(std=0.5)
    table = automaton.window_table()
    exact = TokenWindows(model, automaton, table)
    reduced = TokenWindows(copy.deepcopy(model).to(torch.bfloat16), automaton, table,
                           torch.bfloat16, output_weight=model.output_weight())
    ids = torch.as_tensor(serializer.encode(data.head(64)))
    targets = ids[:, 1:]
    columns = serializer.next_columns(targets)
    states = automaton.states_along(targets, columns)
    caches = [exact.cache(64, ids.shape[1]), reduced.cache(64, ids.shape[1])]
    assert not caches[0].by_position and caches[1].by_position
    with torch.no_grad():
        for t in range(targets.shape[1]):
            inputs, column = ids[:, t:t + 1], columns[:, t:t + 1]
            probs = []
            for head, cache in zip((exact, reduced), caches):
                logits, allowed, _, _ = head.step(inputs, column, cache, states[:, t])
                assert logits.dtype == torch.float32
                probs.append(torch.softmax(logits.masked_fill(~allowed, float('-inf')), -1))
            finite = torch.isfinite(probs[0])
            assert (probs[0][finite] - probs[1][finite]).abs().max() < 0.008


@pytest.mark.parametrize('precision', ['float32', 'bfloat16'])
def test_each_precision_trains_and_samples_valid_rows(iris, precision, monkeypatch):
    """Each precision samples valid rows; a CPU decodes in bf16 from
    ``REDUCED_PRECISION_MIN_ROWS`` rows on and in float32 below."""
    from sdv_llm.decoding import sampler
    from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
    from tests.conftest import TINY

    dtypes = []

    class Spy(sampler.TokenWindows):
        def __init__(self, model, *args, **kwargs):
            dtypes.append(next(model.parameters()).dtype)
            super().__init__(model, *args, **kwargs)

    monkeypatch.setattr(sampler, 'TokenWindows', Spy)
    data, metadata = iris
    columns = metadata.tables['iris'].columns
    model = TabularLM(TabularLMConfig(**TINY, precision=precision)).fit(data, columns)
    rows = sampler.REDUCED_PRECISION_MIN_ROWS
    for num_rows in (rows, rows - 1):
        sampled = model.sample(num_rows)
        assert len(sampled) == num_rows
        for column in model.schema.order:
            model.schema.codecs[column].check_values(sampled[column])
    reduced = torch.bfloat16 if precision == 'bfloat16' else torch.float32
    assert dtypes == [reduced, torch.float32]


def test_sampling_batches_are_equal_and_even_in_number():
    """Batches cover the rows in order, within one row of each other, an even number of them
    from 1,000 rows (or from two batches), never more than ``batch_size`` rows each."""
    from itertools import pairwise

    from sdv_llm.decoding.sampler import SPLIT_MIN_ROWS, sampling_batches

    assert sampling_batches(0, 4096) == []
    assert sampling_batches(999, 4096) == [(0, 999)]
    assert sampling_batches(SPLIT_MIN_ROWS, 4096) == [(0, 500), (500, 1000)]
    assert sampling_batches(8192, 4096) == [(0, 4096), (4096, 8192)]
    for rows, size in [(36169, 4096), (26049, 4096), (25, 10), (7, 3), (10**6, 4096)]:
        bounds = sampling_batches(rows, size)
        sizes = [last - first for first, last in bounds]
        assert bounds[0][0] == 0 and bounds[-1][1] == rows
        assert all(a[1] == b[0] for a, b in pairwise(bounds))
        assert len(bounds) % 2 == 0 and max(sizes) <= size and max(sizes) - min(sizes) <= 1
    assert len(sampling_batches(36169, 4096)) == 10
