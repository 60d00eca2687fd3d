"""pluggy hook specifications: column codecs and serializations are found through these hooks.

This module imports nothing from ``sdv_llm``, so any layer may name the hooks; the plugin
manager that loads the built-ins and the entry-point plugins is ``sdv_llm.plugins``.
"""

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
        """Return a dict ``{name: Serialization}`` of the serializations a plugin provides.

        A ``sdv_llm.decoding.serializations.Serialization`` pairs a
        ``sdv_llm.serialization.base.Serializer`` subclass with its grammar and dependency
        compilers and the kind of backbone it writes for (``tests/serialization/
        test_toy_tsv.py`` registers a TSV serialization this way).
        """

    @hookspec
    def sdv_llm_state_classes(self):
        """Return the classes (a plugin's codecs and what they hold) a saved model may contain.

        ``save_pretrained`` writes an instance of these as its class name and attributes, and
        ``from_pretrained`` creates only classes some plugin returned here (``sdv_llm.state``),
        so a model whose codecs come from a plugin loads only where the plugin is installed.
        """
