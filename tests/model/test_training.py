"""The learning-rate schedule of the training loop, beside transformers' schedules."""

import pytest
import torch

from sdv_llm.model.training import warmup_cosine

CASES = [(1, 1), (1, 7), (3, 60), (5, 100), (12, 250), (50, 1000)]


def _rates(make, warmup, total):
    """The factor of every step ``0 .. total - 1`` of a ``LambdaLR`` built by ``make``."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = make(optimizer)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(('warmup', 'total'), CASES[1:])
def test_schedule_warms_up_then_decays_to_a_tenth(warmup, total):
    ours = [warmup_cosine(step, warmup, total) for step in range(total + 1)]
    assert ours[0] == 1 / warmup and ours[warmup - 1] == ours[warmup] == max(ours) == 1.0
    assert ours[total] == pytest.approx(0.1) and min(ours[warmup:]) == pytest.approx(0.1)


@pytest.mark.parametrize(('warmup', 'total'), CASES)
def test_transformers_schedules_give_other_rates(warmup, total):
    """Why ``warmup_cosine`` is kept: transformers' min-lr cosine equals it exactly after the
    warm-up but starts at 0 (``step / warmup``); the ``_lr_rate`` variant equals it during the
    warm-up but decays one step ahead."""
    from transformers import (
        get_cosine_with_min_lr_schedule_with_warmup,
        get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    )

    ours = _rates(lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, lambda step: warmup_cosine(step, warmup, total)), warmup, total)
    min_lr = _rates(lambda o: get_cosine_with_min_lr_schedule_with_warmup(
        o, warmup, total, min_lr_rate=0.1), warmup, total)
    lr_rate = _rates(lambda o: get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
        o, warmup, total, min_lr_rate=0.1), warmup, total)
    assert ours[warmup:] == min_lr[warmup:]  # bit for bit
    assert ours[:warmup] == lr_rate[:warmup]
    assert min_lr[0] == 0.0 != ours[0]
    if total - warmup > 1:
        assert ours[warmup + 1:] != lr_rate[warmup + 1:]
