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


def test_hook_markers_are_importable_from_plugins_and_hookspecs():
    from sdv_llm import hookspecs, plugins

    assert plugins.hookimpl is hookspecs.hookimpl
    assert plugins.HookSpecs is hookspecs.HookSpecs
    assert plugins.codec_hook() is get_plugin_manager().hook.sdv_llm_column_codec


def test_table_schema_uses_the_given_codec_hook(iris):
    from sdv_llm.schema import CodecOptions, TableSchema

    data, metadata = iris
    columns = metadata.to_dict()['tables']['iris']['columns']
    calls = []

    def choose_codec(**kwargs):
        calls.append(kwargs['column'])
        return CategoricalCodec(kwargs['column'], {'sdtype': 'categorical'},
                                options=kwargs['options'])

    schema = TableSchema.fit(data, columns, options=CodecOptions(), choose_codec=choose_codec)
    assert calls == list(data.columns)
    assert all(isinstance(codec, CategoricalCodec) for codec in schema.codecs.values())
    default = TableSchema.fit(data, columns)
    assert type(default.codecs['sepal length (cm)']).__name__ == 'NumericalCodec'
