"""Exact functional dependencies enforced while decoding.

With ``column_order='fd'`` the determinant of each dependency is generated before the column it
determines; for the exact dependencies with one determinant column, the sampler then also
constrains the dependent column to the value the determinant maps to in the training data, so a
sampled row cannot break them (the order alone leaves it to the model, which errs on a small
share of rows).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


@dataclass
class DependencyTable:
    """Per determinant token, which later column to constrain and the automaton state to use.

    Attributes:
        targets (torch.Tensor): int64 ``(vocab_size, width)``: column index (into
            ``schema.order``) each token's dependencies constrain, ``-1`` for none.
        entries (torch.Tensor): int64 ``(vocab_size, width)``: the start state of the one-value
            automaton the constrained column then uses.
    """

    targets: torch.Tensor
    entries: torch.Tensor

    def to(self, device):
        """Move the tables to a device; returns ``self``."""
        self.targets = self.targets.to(device)
        self.entries = self.entries.to(device)
        return self


def dependency_mappings(data, dependencies):
    """The value maps of the exact one-column dependencies, learned on the training rows.

    Args:
        data (pandas.DataFrame): the training table.
        dependencies (list[FunctionalDependency]): discovered dependencies.

    Returns:
        list[tuple[str, str, dict]]: ``(determinant, dependent, {x: y})`` per exact dependency
        with a one-column determinant.
    """
    mappings = []
    for dependency in dependencies:
        if dependency.exact and len(dependency.lhs) == 1:
            determinant, dependent = dependency.lhs[0], dependency.rhs
            pairs = data[[determinant, dependent]].drop_duplicates(determinant)
            mappings.append((determinant, dependent,
                             dict(zip(pairs[determinant], pairs[dependent]))))
    return mappings


def compile_dependencies(serializer, automaton, mappings):
    """Add a one-value automaton per dependent value and index them by determinant token.

    Only determinant values written as a single token (categories, frequent numbers) are
    indexed; other values leave the dependent column free.

    Args:
        serializer (CompactSerializer): vocabulary and schema.
        automaton (TokenAutomaton): the row grammar.
        mappings (list): from ``dependency_mappings``.

    Returns:
        tuple: ``(TokenAutomaton, DependencyTable or None)``: the automaton extended with the
        one-value automata, and the table (``None`` without usable dependencies).
    """
    schema = serializer.schema
    position = {column: index for index, column in enumerate(schema.order)}
    rules = []  # (determinant token, dependent column, fragment key)
    fragments, keys = [], {}
    for determinant, dependent, mapping in mappings:
        codec = schema.codecs[determinant]
        values = pd.Series(list(mapping), dtype=object)
        local = codec.encode(values)
        single = local[:, 1:] < 0 if local.shape[1] > 1 else np.ones((len(local), 1), bool)
        for value, tokens, ok in zip(values, local, single.all(axis=1)):
            if not ok:
                continue
            target = mapping[value]
            key = (dependent, repr(target))
            if key not in keys:
                keys[key] = len(fragments)
                fragments.append((dependent,
                                  schema.codecs[dependent].values_fragment([target])))
            rules.append((int(tokens[0]) + serializer.offsets[determinant],
                          position[dependent], keys[key]))
    if not rules:
        return automaton, None

    automaton, starts = automaton.extend(serializer, fragments)
    per_token = {}
    for token, column, key in rules:
        per_token.setdefault(token, []).append((column, starts[key]))
    width = max(len(v) for v in per_token.values())
    targets = np.full((serializer.vocab_size, width), -1, dtype=np.int64)
    entries = np.full((serializer.vocab_size, width), -1, dtype=np.int64)
    for token, items in per_token.items():
        for index, (column, start) in enumerate(items):
            targets[token, index], entries[token, index] = column, start
    return automaton, DependencyTable(torch.from_numpy(targets), torch.from_numpy(entries))
