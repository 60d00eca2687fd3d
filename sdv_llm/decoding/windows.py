"""Token windows: the logits of the tokens a state can allow, never of the whole vocabulary.

The compact vocabulary gives every column a contiguous range of token ids, and every state of
the compact automaton reads the tokens of one column (or the special tokens at the end of a
row). So the output layer only needs the rows of the current column's range: for a table with
many binned columns the vocabulary holds thousands of tokens, a column's window a few hundred.
The sampler and the training loss both compute logits this way (``window_logits``), grouping
positions by window.
"""

import torch


def window_weights(weight, windows, width):
    """The output layer's rows of each window, zero padded to ``width``.

    Args:
        weight (torch.Tensor): float ``(vocab_size, dim)`` output layer (gradients flow).
        windows (torch.Tensor): int64 ``(num_windows, 2)`` token ranges ``[start, stop)``.
        width (int): the widest window.

    Returns:
        torch.Tensor: float ``(num_windows, width, dim)``.
    """
    index = windows[:, :1] + torch.arange(width, device=windows.device)[None, :]
    inside = index < windows[:, 1:]
    return weight[index.clamp_max(weight.shape[0] - 1)] * inside[..., None].to(weight.dtype)


def window_logits(hidden, window, weights):
    """Logits of each position's window.

    Args:
        hidden (torch.Tensor): float ``(n, dim)`` final hidden states.
        window (torch.Tensor): int64 ``(n,)`` the window of each position.
        weights (torch.Tensor): float ``(num_windows, width, dim)`` from ``window_weights``.

    Returns:
        torch.Tensor: float32 ``(n, width)``; entry ``i`` is the logit of token
        ``windows[window[n], 0] + i`` (padding columns hold 0 and must be masked).
    """
    groups, counts = torch.unique(window, return_counts=True)
    if len(groups) == 1:
        return (hidden @ weights[groups[0]].T).float()
    # Positions sorted by window, one product per window, joined and put back in order: a
    # constant number of (n, width) tensors whatever the number of windows (an in-place
    # write per window would keep one copy per column for the backward pass).
    # ``unbind`` once: indexing ``weights`` per window would make each window's backward
    # allocate a zero gradient of every window (memory and time growing with the square of
    # the column count: 36 GB allocated in one epoch of a 300-column table).
    order = torch.argsort(window, stable=True)
    per_window = weights.unbind(0)
    parts = [(part @ per_window[group].T).float() for group, part in
             zip(groups.tolist(), torch.split(hidden[order], counts.tolist()))]
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)
    return torch.cat(parts)[inverse]


def window_loss(hidden, labels, states, automaton, table, weight):
    """Cross entropy of the targets among the tokens the automaton allows, over windows.

    Equal to ``constrained_loss`` on the full vocabulary's logits (tested), at the cost of the
    windows' width.

    Args:
        hidden (torch.Tensor): float ``(batch, length, dim)`` final hidden states.
        labels (torch.Tensor): int64 ``(batch, length)`` target token ids, ``-100`` ignored.
        states (torch.Tensor): int64 ``(batch, length)`` the state reading each target.
        automaton (TokenAutomaton): with windows, on ``hidden``'s device.
        table (torch.Tensor): ``automaton.window_table()`` on that device.
        weight (torch.Tensor): float ``(vocab_size, dim)`` output layer.

    Returns:
        torch.Tensor: the mean loss over non-ignored targets, a scalar (0, still attached to
        the graph, when every target is ignored: a table whose every column is constant).
    """
    learned = labels >= 0
    if not bool(learned.any()):
        return hidden.sum() * 0.0
    states = states[learned]
    window = automaton.state_window[states]
    weights = window_weights(weight, automaton.windows, table.shape[1])
    logits = window_logits(hidden[learned].float(), window, weights.float())
    # A bool gather of the allowed tokens, masked in place: the int64 rows of ``table`` and a
    # masked copy were the peak RSS of a 500-column table's fit (its validation pass).
    logits.masked_fill_((table < 0)[states], float('-inf'))
    local = labels[learned] - automaton.windows[window, 0]
    return torch.nn.functional.cross_entropy(logits, local)
