"""Chapter 9's checker (pgkit/exercises/ch09_trust_regions_ppo.py): PPO's clipped loss, its
gradient, and gradients that must not reach old_log_probs or advantages."""

import pytest
import torch
from exercise_helpers import assert_names_mistake, run


def make_ppo_loss(*, combine="min", clip_what="ratio", sign=-1.0, detach=True):
    def ppo_loss(log_probs, old_log_probs, advantages, clip):
        if detach:
            old_log_probs, advantages = old_log_probs.detach(), advantages.detach()
        ratio = torch.exp(log_probs - old_log_probs)
        unclipped = ratio * advantages
        if clip_what == "ratio":
            clipped = torch.clamp(ratio, 1 - clip, 1 + clip) * advantages
        else:
            clipped = ratio * torch.clamp(advantages, 1 - clip, 1 + clip)
        objective = (
            torch.min(unclipped, clipped) if combine == "min" else torch.max(unclipped, clipped)
        )
        return sign * objective.mean()

    return ppo_loss


MISTAKES = [
    (make_ppo_loss(combine="max"), "took max instead of min"),
    (make_ppo_loss(clip_what="advantage"), "clipped the advantage instead of the ratio"),
    (make_ppo_loss(sign=1.0), "forgot the minus sign"),
    (make_ppo_loss(detach=False), "must be a constant"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("ppo_clip_loss", fn, hint, capsys)


def test_the_reader_loss_without_mistakes_passes(capsys):
    assert run("ppo_clip_loss", make_ppo_loss(), capsys)[0] is True
