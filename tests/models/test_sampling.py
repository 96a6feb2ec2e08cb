"""Learner streams: seeded, covering (shard: every sample once per epoch across learners), resumable from JSON."""
import json

import numpy as np
import pytest

from rudra.models import LearnerStream


def _take(stream, batches):
    return np.concatenate([stream.next_indices() for _ in range(batches)])


@pytest.mark.parametrize("mode", ["whole", "shard"])
def test_deterministic_per_seed_and_distinct_per_learner(mode):
    def stream(learner, seed):
        return _take(LearnerStream(100, learner, 4, 8, seed, mode), 20)
    assert np.array_equal(stream(1, 7), stream(1, 7))
    assert not np.array_equal(stream(1, 7), stream(1, 8))
    assert not np.array_equal(stream(1, 7), stream(2, 7))


def _first_pass(stream):
    """The indices of the stream's first pass over its pool (batches may straddle into the next pass)."""
    size = len(stream.pool)
    return _take(stream, -(-size // stream.minibatch))[:size]


@pytest.mark.parametrize("n, learners, minibatch", [(100, 4, 5), (103, 5, 4), (64, 1, 64), (50, 7, 3)])
def test_shard_mode_learners_together_see_every_sample_exactly_once_per_epoch(n, learners, minibatch):
    passes = [_first_pass(LearnerStream(n, l, learners, minibatch, seed=3, mode="shard")) for l in range(learners)]
    assert sorted(np.concatenate(passes).tolist()) == list(range(n))
    assert max(map(len, passes)) - min(map(len, passes)) <= 1  # balanced shards


def test_shard_mode_keeps_each_learner_on_its_shard_in_a_new_order_each_pass():
    stream = LearnerStream(40, 1, 4, 5, seed=0, mode="shard")
    first, second = _take(stream, 2), _take(stream, 2)
    assert sorted(first.tolist()) == sorted(second.tolist()) and not np.array_equal(first, second)


def test_whole_mode_each_learner_permutes_the_whole_set_per_pass():
    for learner in range(3):
        stream = LearnerStream(30, learner, 3, 7, seed=1)
        flat = _take(stream, 30)  # 210 indices = 7 passes of 30; batches straddle passes
        passes = flat.reshape(7, 30)
        assert all(sorted(p.tolist()) == list(range(30)) for p in passes)
        assert len({tuple(p) for p in passes}) == 7


def test_an_epoch_is_n_over_mu_gradients():
    streams = [LearnerStream(60, l, 3, 4, seed=0, mode="shard") for l in range(3)]
    consumed = np.concatenate([_take(s, 60 // 4 // 3) for s in streams])  # N/μ gradients, split over λ = 3
    assert sorted(consumed.tolist()) == list(range(60))


@pytest.mark.parametrize("mode", ["whole", "shard"])
def test_state_round_trips_through_json_and_resumes_exactly(mode):
    stream = LearnerStream(37, 2, 3, 5, seed=11, mode=mode)
    _take(stream, 9)
    state = json.loads(json.dumps(stream.state()))
    resumed = LearnerStream.from_state(state)
    assert np.array_equal(_take(stream, 20), _take(resumed, 20))


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(mode="random"), "sampling mode"),
    (dict(learner=3), "learner 3"),
    (dict(n_samples=2, mode="shard"), "at least one sample per learner"),
    (dict(minibatch=0), "minibatch 0"),
])
def test_bad_arguments_are_rejected(kwargs, fragment):
    args = dict(n_samples=10, learner=0, learners=3, minibatch=2, seed=0) | kwargs
    with pytest.raises(ValueError, match=fragment):
        LearnerStream(**args)
