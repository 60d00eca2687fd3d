"""The plugin manager: column codecs and serializations are found through pluggy hooks.

The hook specifications are ``sdv_llm.hookspecs``. The built-in codecs and the compact
serialization are registered as a plugin (``sdv_llm.builtin``) through the same hooks that
third-party plugins use; third-party plugins are loaded from the entry-point group ``sdv_llm``,
as pytest loads ``pytest11``. ``hookimpl`` is importable from here, for plugins.
"""

import functools

import pluggy

from sdv_llm.hookspecs import PROJECT, HookSpecs, hookimpl, hookspec

__all__ = ['PROJECT', 'HookSpecs', 'codec_hook', 'get_plugin_manager', 'get_serializations',
           'hookimpl', 'hookspec', 'state_registry']


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


def codec_hook():
    """The ``sdv_llm_column_codec`` hook of every registered plugin, for ``TableSchema.fit``.

    Returns:
        callable: keyword arguments of the hook -> the first plugin's codec, or ``None``.
    """
    return get_plugin_manager().hook.sdv_llm_column_codec


def get_serializations():
    """All registered serializations, ``{name: Serialization}``
    (``sdv_llm.decoding.serializations``)."""
    found = {}
    for result in get_plugin_manager().hook.sdv_llm_serializations():
        found.update(result)
    return found


def state_registry():
    """``{name: class}`` of every class a saved model may hold (``sdv_llm_state_classes``).

    Returns:
        dict[str, type]: see ``sdv_llm.state``.
    """
    from sdv_llm.state import registry_of

    classes = []
    for result in get_plugin_manager().hook.sdv_llm_state_classes():
        classes.extend(result)
    return registry_of(classes)
