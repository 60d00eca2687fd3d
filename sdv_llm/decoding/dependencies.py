"""Exact functional dependencies enforced while decoding.

With ``column_order='fd'`` the determinant of each dependency is generated before the column it
determines; for the exact dependencies with one determinant column, the sampler then also
constrains the dependent column to the value the determinant maps to in the training data, so a
sampled row cannot break them (the order alone leaves it to the model, which errs on a small
share of rows).

Compact rows write a determinant value as one token, so the table is indexed by token
(``DependencyTable``). A text clause spans several BPE tokens and no single token names the
value, so ``TextDependencyTable`` reads the clause's text back when it is complete (the state
returns to ``hub``) and parses its value.
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

    def constrain(self, step, token, state, rows, slot, slot_of_column, first_free, entries,
                  **_):
        """Point the entries of the columns the sampled tokens determine at one-value automata.

        Only columns not generated yet (a later slot) and not under a condition (from
        ``first_free`` on) are constrained.
        """
        targets = self.targets[token]
        if not bool((targets >= 0).any()):
            return
        starts = self.entries[token]
        for index in range(targets.shape[1]):
            column = targets[:, index]
            target_slot = slot_of_column[rows, column.clamp_min(0)]
            apply = (column >= 0) & (target_slot > slot) & (target_slot >= first_free)
            entries[rows[apply], target_slot[apply]] = starts[apply, index]


@dataclass
class TextDependencyTable:
    """Dependencies of a text serialization: the dependent clause follows the parsed value.

    Attributes:
        serializer (TextSerializer): parses a completed clause.
        hub (int): the automaton state after a clause.
        rules (dict[int, list[tuple[int, dict]]]): by determinant column index, the dependent
            column index and ``{determinant value: (separator start, row-end start)}``, the
            start states of the dependent's one-value clauses.
        token_bytes (dict[int, bytes]): the bytes of each token.
    """

    serializer: object
    hub: int
    rules: dict
    token_bytes: dict

    def to(self, device):
        """Nothing to move (the rules are read on the host); returns ``self``."""
        return self

    def constrain(self, step, token, state, rows, slot, slot_of_column, first_free, entries,
                  columns, steps, clause_start):
        """After a determinant's clause, point its dependents' entries at one-value clauses.

        A row whose ``state`` reached ``hub`` in a determinant's slot has its clause text
        decoded from ``steps[clause_start:]`` and ``token``; the value's dependent columns in
        later slots (from ``first_free`` on) get the clause of the mapped value (the row-end
        variant in the last slot). Values the mapping does not hold leave them free.
        """
        column = columns[rows, slot]
        determinant = torch.zeros_like(column, dtype=torch.bool)
        for index in self.rules:
            determinant |= column == index
        done = (state == self.hub) & determinant
        if not bool(done.any()):
            return
        order = self.serializer.schema.order
        last_slot = columns.shape[1] - 2
        history = torch.stack(steps + [token], dim=1)
        for row in torch.nonzero(done).flatten().tolist():
            start = int(clause_start[row])
            text = b''.join(self.token_bytes.get(int(t), b'')
                            for t in history[row, start:]).decode('utf-8', 'replace')
            k = int(column[row])
            value = self.serializer.parse_clause(order[k], text, int(slot[row]) == last_slot)
            for dependent, starts in self.rules[k]:
                target_slot = int(slot_of_column[row, dependent])
                if value is None or target_slot <= int(slot[row]) or \
                        target_slot < int(first_free[row]):
                    continue
                clause = starts.get(_key(value))
                if clause is not None:
                    entries[row, target_slot] = clause[1 if target_slot == last_slot else 0]


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
                fragment = _fragment(schema.codecs[dependent], target)
                if fragment is None:
                    continue
                keys[key] = len(fragments)
                fragments.append((dependent, fragment))
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


def _fragment(codec, target):
    """The dependent's automaton: one value, or an ``Allowed`` set or range (``None`` when
    nothing is allowed, which leaves the column free for the row check)."""
    from sdv_llm.decoding.constraints import Allowed

    try:
        if isinstance(target, Allowed):
            return target.fragment(codec)
        return codec.values_fragment([target])
    except ValueError:
        return None


def _restriction(serializer, column, target):
    """A text serialization's clause restriction for ``target`` (``None`` if empty)."""
    from sdv_llm.decoding.constraints import Allowed

    try:
        if isinstance(target, Allowed):
            args = (list(target.args[0]),) if target.kind == 'values' else target.args
            return serializer.restriction(column, target.kind, args)
        return serializer.restriction(column, 'values', ([target],))
    except ValueError:
        return None


def _key(value):
    """A dict key that equal numbers share (``3`` and ``3.0``) and that strings keep."""
    return ('n', float(value)) if isinstance(value, (int, float, np.number)) and \
        not isinstance(value, bool) else ('v', repr(value))


def _target_key(target):
    """A dict key of a dependency target (a value or an ``Allowed``)."""
    return ('a', repr(target)) if not isinstance(target, (int, float, np.number, str)) \
        or isinstance(target, bool) else _key(target)


def compile_text_dependencies(serializer, automaton, mappings):
    """Add the one-value clauses of every dependent value of a text serialization.

    Args:
        serializer (TextSerializer): tokenizer, formats and codecs.
        automaton (TextTokenAutomaton): the row grammar.
        mappings (list): from ``dependency_mappings``.

    Returns:
        tuple: ``(TextTokenAutomaton, TextDependencyTable or None)``.
    """
    from sdv_llm.decoding.text_automaton import token_bytes

    if not mappings:
        return automaton, None
    position = {column: index for index, column in enumerate(serializer.schema.order)}
    restrictions, wanted = [], {}
    for determinant, dependent, mapping in mappings:
        for source, target in mapping.items():
            if pd.isna(source):
                continue
            key = (dependent, _target_key(target))
            if key not in wanted:
                restriction = _restriction(serializer, dependent, target)
                if restriction is None:
                    continue
                wanted[key] = len(restrictions)
                restrictions.append((dependent, restriction))
    if not restrictions:
        return automaton, None
    automaton, starts = automaton.extend(serializer, restrictions)
    rules = {}
    for determinant, dependent, mapping in mappings:
        clauses = {_key(source): starts[wanted[dependent, _target_key(target)]]
                   for source, target in mapping.items()
                   if not pd.isna(source) and (dependent, _target_key(target)) in wanted}
        rules.setdefault(position[determinant], []).append((position[dependent], clauses))
    return automaton, TextDependencyTable(serializer, automaton.hub, rules,
                                          token_bytes(serializer.tokenizer))
