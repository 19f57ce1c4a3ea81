"""bfloat16 logits are rounded to steps of 0.125 at the sizes a language model's take; the best are read again
in float32 (rag/models/generate.py: exact_top_logits)."""

from __future__ import annotations

import torch

from rag.models.generate import EXACT_TOP, exact_top_logits


def _head() -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    head = torch.nn.Linear(64, 2000, bias=False).to(torch.bfloat16)
    with torch.no_grad():
        head.weight.mul_(15)  # logits of up to about 30, where bfloat16's step is 0.125
    hidden = torch.randn(1, 3, 64).to(torch.bfloat16)
    return head, hidden, hidden.float() @ head.weight.float().T


def test_the_best_logits_are_read_again_in_float32():
    head, hidden, reference = _head()
    top = reference.topk(EXACT_TOP // 4, dim=-1).indices  # the few best: surely among the EXACT_TOP re-read
    rounded = head(hidden).float().gather(-1, top)
    assert reference.abs().max() > 16, "the test must reach the sizes where the rounding step is 0.125"
    assert (rounded - reference.gather(-1, top)).abs().max() > 0.01, "rounded, as the model gives them"

    head.register_forward_hook(exact_top_logits)
    exact = head(hidden)
    assert exact.dtype == torch.float32
    assert torch.allclose(exact.gather(-1, top), reference.gather(-1, top), atol=1e-3)
    assert exact.argmax(-1).equal(reference.argmax(-1)), "the greedy pick is the float32 one"


def test_ties_of_rounding_are_broken_by_the_float32_values():
    """Tokens a rounding step apart read as equal in bfloat16: the greedy pick and P(Yes) must tell them apart."""
    head, hidden, _ = _head()

    def ties(logits: torch.Tensor) -> int:
        best = logits.float().topk(EXACT_TOP // 2, dim=-1).values
        return sum(len(row) - len(set(row)) for row in best.reshape(-1, best.shape[-1]).tolist())

    assert ties(head(hidden)) > 0, "the test must hold tied values to break"
    head.register_forward_hook(exact_top_logits)
    assert ties(head(hidden)) == 0
