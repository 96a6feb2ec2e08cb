"""Rudra-adv (S = 2 shards, each its own protocol instance over its slice) and Rudra-adv* (push and pull
threads in each learner) train to the same accuracy as base: within MARGIN (test_protocols.py argues it) of a
single learner."""
import pytest

from .test_protocols import MARGIN, run_case, single_learner_error


@pytest.mark.slow
@pytest.mark.parametrize("architecture,shards", [("adv", 2), ("adv*", 1), ("adv*", 2)])
def test_architecture_trains_like_base(run_dir, architecture, shards):
    summary, tables, _ = run_case(run_dir, name="async", lr_policy="mean-staleness", architecture=architecture,
                                  shards=shards)
    assert summary["runtime"]["architecture"] == architecture and summary["runtime"]["shards"] == shards
    assert summary["test_error"] <= single_learner_error() + MARGIN
    if architecture == "adv*":  # compute runs on while pulls are in flight: staler than base's ⟨σ⟩ ≈ λ - 1
        assert summary["staleness"]["mean"] > 3
