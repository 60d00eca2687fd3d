"""Codecs and serializations are found through pluggy hooks; built-ins use the same hooks."""


from sdv_llm import LLMSynthesizer
from sdv_llm.plugins import get_plugin_manager, get_serializations, hookimpl
from sdv_llm.schema.codecs import CategoricalCodec


def test_builtins_are_registered_as_a_plugin():
    manager = get_plugin_manager()
    assert manager.get_plugin('sdv_llm.builtin') is not None
    assert 'compact' in get_serializations()


def test_a_plugin_overrides_the_codec_of_a_column(iris, tiny):
    class TreatPetalWidthAsCategory:
        @hookimpl
        def sdv_llm_column_codec(self, column, column_metadata, values, enforce_min_max_values,
                                 options):
            if column == 'petal width (cm)':
                return CategoricalCodec(column, {'sdtype': 'categorical'}, options=options)
            return None

    manager = get_plugin_manager()
    plugin = TreatPetalWidthAsCategory()
    manager.register(plugin)
    try:
        data, metadata = iris
        synthesizer = LLMSynthesizer(metadata, **tiny)
        synthesizer.fit({'iris': data})
        codecs = synthesizer._model.schema.codecs
        assert isinstance(codecs['petal width (cm)'], CategoricalCodec)
        assert type(codecs['sepal width (cm)']).__name__ == 'NumericalCodec'
        sampled = synthesizer.sample(num_rows=50)['iris']
        assert set(sampled['petal width (cm)']) <= set(data['petal width (cm)'])
    finally:
        manager.unregister(plugin)
