"""A registered serialization: its serializer with the grammar and dependency compilers that
decode it, and the kind of backbone whose tokens it writes.

Plugins return ``{name: Serialization}`` from the ``sdv_llm_serializations`` hook
(``sdv_llm.hookspecs``); the built-ins are in ``sdv_llm.builtin``. The core compiles a fitted
serializer's grammar through ``Serialization.compile`` and never asks which kind it is.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Serialization:
    """One serialization as the core uses it.

    Attributes:
        serializer (type): a ``sdv_llm.serialization.base.Serializer`` subclass.
        grammar (callable): ``grammar(serializer) -> automaton``: the token automaton of one
            row per sequence (``TokenAutomaton.compile``, ``TextTokenAutomaton.compile``).
        dependencies (callable): ``dependencies(serializer, automaton, mappings) ->
            (automaton, table or None)``: the grammar extended to enforce exact functional
            dependencies and constraint rules while decoding (``compile_dependencies``,
            ``compile_text_dependencies``).
        backbone (str): the family of backbones (``Backbone.family``,
            ``sdv_llm.model.backbones``) whose tokens it writes: ``'embedded'`` (the serializer builds its own vocabulary and the
            embedded decoder is sized for it) or ``'pretrained'`` (text through a local Hugging
            Face model's tokenizer).

    Raises:
        ValueError: ``backbone`` is not a non-empty string.
    """

    serializer: type
    grammar: object
    dependencies: object
    backbone: str = 'embedded'

    def __post_init__(self):
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ValueError(f'Serialization backbone must name a backbone family, got '
                             f'{self.backbone!r}.')

    def compile(self, serializer, mappings):
        """The grammar of ``serializer``, extended with its dependencies.

        Args:
            serializer (Serializer): fitted (``serializer.create``); takes what the grammar
                knows of the sequences (``Serializer.bind``).
            mappings (list): ``(determinant, dependent, mapping)`` from
                ``sdv_llm.decoding.dependencies.dependency_mappings`` and constraint rules.

        Returns:
            tuple: ``(automaton, dependency table or None)``.
        """
        automaton = self.grammar(serializer)
        serializer.bind(automaton)
        return self.dependencies(serializer, automaton, mappings)
