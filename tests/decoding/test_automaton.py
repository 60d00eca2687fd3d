"""The token automaton and the batched sampler: every sampled sequence is a valid row."""

import torch

from sdv_llm.decoding.automaton import TokenAutomaton
from sdv_llm.decoding.sampler import sample_sequences
from sdv_llm.model.backbone import BackboneConfig, build_backbone
from sdv_llm.schema import TableSchema
from sdv_llm.serialization.compact import BOS, EOS, CompactSerializer


def _setup(data, metadata, name, **kwargs):
    schema = TableSchema.fit(data, metadata.to_dict()['tables'][name]['columns'], **kwargs)
    serializer = CompactSerializer(schema)
    return serializer, TokenAutomaton.compile(serializer)


def test_training_rows_are_paths_of_the_automaton(titanic):
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    targets = torch.as_tensor(serializer.encode(data)[:, 1:])
    states = automaton.states_along(targets)
    allowed = automaton.next_state[states, targets] >= 0
    assert bool(allowed.all())


def test_untrained_model_samples_only_valid_rows(titanic):
    """A random model puts mass everywhere, so this exercises the mask, not the learning."""
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    torch.manual_seed(0)
    model = build_backbone(BackboneConfig(16, 1, 2, 0.0), serializer.vocab_size,
                           serializer.max_length, {'bos': BOS, 'eos': EOS}).eval()
    generator = torch.Generator().manual_seed(1)
    ids = sample_sequences(model, automaton, 700, 256, torch.device('cpu'), generator,
                           temperature=3.0, max_length=serializer.max_length - 1)
    assert ids.shape == (700, serializer.max_length - 1)
    assert ((ids == EOS).sum(axis=1) == 1).all()
    table = serializer.decode(ids)
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
    model = build_backbone(BackboneConfig(16, 1, 2, 0.0), serializer.vocab_size,
                           serializer.max_length, {'bos': BOS, 'eos': EOS}).eval()
    ids = sample_sequences(model, automaton, 100, 64, torch.device('cpu'),
                           torch.Generator().manual_seed(0), temperature=0.5, top_p=0.3,
                           max_length=serializer.max_length - 1)
    table = serializer.decode(ids)
    assert table['sepal length (cm)'].between(4.3, 7.9).all()
    assert set(table['species']) <= {'setosa', 'versicolor', 'virginica'}


def test_preallocated_cache_matches_the_dynamic_cache(iris):
    from sdv_llm.decoding.kv_cache import preallocated_cache

    data, metadata = iris
    serializer, _ = _setup(data, metadata, 'iris')
    model = build_backbone(BackboneConfig(16, 2, 2, 0.0), serializer.vocab_size,
                           serializer.max_length, {'bos': BOS, 'eos': EOS}).eval()
    ids = torch.as_tensor(serializer.encode(data.head(8)))
    with torch.no_grad():
        full = model(input_ids=ids).logits
        for attention in ('sdpa', 'eager'):  # the sampler switches to eager for cached steps
            model.config._attn_implementation = attention
            cache = preallocated_cache(model, ids.shape[1])
            steps = [model(input_ids=ids[:, t : t + 1], past_key_values=cache,
                           use_cache=True).logits for t in range(ids.shape[1])]
            torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_inverse_cdf_draw_matches_the_probabilities_and_the_mask():
    from sdv_llm.decoding.sampler import _draw

    probs = torch.tensor([0.0, 0.5, 0.0, 0.2, 0.3, 0.0]).repeat(200_000, 1)
    allowed = probs > 0
    tokens = _draw(probs, allowed, torch.Generator().manual_seed(0))
    counts = torch.bincount(tokens, minlength=6).double() / len(tokens)
    torch.testing.assert_close(counts, probs[0].double(), atol=5e-3, rtol=0)
