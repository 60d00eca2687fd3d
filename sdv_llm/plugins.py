"""pluggy hook specifications: column codecs and serializations are found through these hooks.

The built-in codecs and the compact serialization are registered as a plugin
(``sdv_llm.builtin``) through the same hooks that third-party plugins use; third-party plugins
are loaded from the entry-point group ``sdv_llm``, as pytest loads ``pytest11``.
"""

import functools

import pluggy

PROJECT = 'sdv_llm'
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookSpecs:
    """The hooks a plugin may implement."""

    @hookspec(firstresult=True)
    def sdv_llm_column_codec(self, column, column_metadata, values, enforce_min_max_values,
                             options):
        """Return an unfitted ``ColumnCodec`` for one column, or ``None`` to let others decide.

        Called once per modelled column in ``fit``; the first non-``None`` answer wins, and the
        built-in plugin answers last (``trylast``), so a plugin overrides it for the columns it
        returns a codec for.

        Args:
            column (str): the column name.
            column_metadata (dict): the column's SDV metadata, ``sdtype`` included.
            values (pandas.Series): the training values (raw, NaN for missing).
            enforce_min_max_values (bool): the synthesizer's setting.
            options (sdv_llm.schema.options.CodecOptions): shared codec limits.
        """

    @hookspec
    def sdv_llm_serializations(self):
        """Return a dict ``{name: serializer class}`` of the serializations a plugin provides."""


@functools.lru_cache(maxsize=1)
def get_plugin_manager():
    """The process-wide plugin manager, with the built-ins and the entry-point plugins loaded.

    Returns:
        pluggy.PluginManager
    """
    from sdv_llm import builtin

    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(HookSpecs)
    manager.register(builtin, name='sdv_llm.builtin')
    manager.load_setuptools_entrypoints(PROJECT)
    return manager


def get_serializations():
    """All registered serializations, ``{name: class}``."""
    found = {}
    for result in get_plugin_manager().hook.sdv_llm_serializations():
        found.update(result)
    return found
