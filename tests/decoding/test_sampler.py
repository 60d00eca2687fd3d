"""Top-p in the sampler beside transformers' TopPLogitsWarper."""

import torch

from sdv_llm.decoding.sampler import _top_p_filter


def test_top_p_keeps_the_tokens_transformers_keeps_without_ties():
    from transformers import TopPLogitsWarper

    generator = torch.Generator().manual_seed(0)
    for top_p in (0.3, 0.5, 0.7, 0.9, 0.99):
        logits = torch.randn(500, 50, generator=generator) * 3
        logits[:, :10] = float('-inf')  # tokens the automaton forbids
        ours = _top_p_filter(logits, top_p)
        theirs = TopPLogitsWarper(top_p)(None, logits)
        assert torch.equal(torch.isfinite(ours), torch.isfinite(theirs))
        torch.testing.assert_close(ours[torch.isfinite(ours)], logits[torch.isfinite(ours)])


def test_top_p_keeps_other_tokens_than_transformers_among_ties():
    """Why ``_top_p_filter`` is kept: among equally likely tokens, TopPLogitsWarper (ascending
    sort, ``cumsum <= 1 - top_p`` removed) keeps the last ones and the sampler the first, so
    the same seed would draw other rows."""
    from transformers import TopPLogitsWarper

    logits = torch.full((1, 4), 0.25).log()
    assert torch.isfinite(_top_p_filter(logits, 0.5)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(TopPLogitsWarper(0.5)(None, logits)).tolist() == \
        [[False, False, True, True]]
