"""Token windows: the training loss over windows equals the loss over the whole vocabulary."""

import numpy as np
import torch

from sdv_llm.decoding.windows import window_loss
from sdv_llm.model.training import constrained_loss
from tests.decoding.test_automaton import _decoder, _setup


def test_window_loss_equals_the_full_vocabulary_loss(titanic):
    data, metadata = titanic
    serializer, automaton = _setup(data, metadata, 'titanic')
    model = _decoder(serializer, layers=2)
    rng = np.random.default_rng(0)
    orders = np.argsort(rng.random((len(data), serializer.num_columns)), axis=1)
    ids = torch.as_tensor(serializer.encode(data, orders))
    inputs, targets = ids[:, :-1], ids[:, 1:]
    columns = serializer.next_columns(targets)
    states = automaton.states_along(targets, columns)
    choices = automaton.transitions.num_allowed()
    labels = torch.where((choices[states] > 1) & (targets != automaton.pad), targets, -100)
    logits = model(input_ids=inputs, next_columns=columns).logits
    expected = constrained_loss(logits, labels, automaton.transitions.allowed(states))
    hidden = model(input_ids=inputs, next_columns=columns, hidden=True)
    got = window_loss(hidden, labels, states, automaton, automaton.window_table(),
                      model.output_weight())
    torch.testing.assert_close(got, expected)
    got.backward()
    assert model.output_weight().grad is not None  # the tied embedding learns through it
