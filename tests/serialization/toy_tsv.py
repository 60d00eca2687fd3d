"""A toy serialization written as a plugin: rows as tab-separated lines under a header.

This module is everything a new serialization needs: a ``TextFormat`` (how a row is written),
a ``Serializer`` (here the text serializer with that format) and the ``sdv_llm_serializations``
hook that registers them with the grammar and dependency compilers of text rows.
``test_toy_tsv.py`` registers it with the plugin manager and samples with it; nothing else in
the package knows it exists.
"""

from sdv_llm.decoding.dependencies import compile_text_dependencies
from sdv_llm.decoding.serializations import Serialization
from sdv_llm.decoding.text_automaton import TextTokenAutomaton
from sdv_llm.hookspecs import hookimpl
from sdv_llm.serialization.text import TextFormat, TextSerializer

NAME = 'tsv'


class TSVFormat(TextFormat):
    """``39\\tState-gov`` under a header line; a field with a tab, newline or quote, or an
    empty one, is quoted as in CSV; an empty field is missing."""

    name = NAME
    separator = '\t'
    null = ''
    fixed_order = True

    def prefix(self, columns):
        return '\t'.join(self.quote(str(c)) for c in columns) + '\n'

    def label(self, column):
        return ''

    def quote(self, string):
        if string == '' or any(char in string for char in '\t"\n\r'):
            return '"' + string.replace('"', '""') + '"'
        return string


class TSVSerializer(TextSerializer):
    """Text rows in ``TSVFormat``, tokenized by the pretrained backbone's tokenizer."""

    @classmethod
    def create(cls, schema, context):
        if context.tokenizer is None:
            raise ValueError("serialization='tsv' needs a pretrained backbone's tokenizer.")
        return cls(schema, context.tokenizer, format=TSVFormat(),
                   vocab_size=context.vocab_size, preamble=context.preamble)


@hookimpl
def sdv_llm_serializations():
    """Register ``'tsv'``: its serializer, the text grammar and dependency compilers."""
    return {NAME: Serialization(TSVSerializer, TextTokenAutomaton.compile,
                                compile_text_dependencies, backbone='pretrained')}
