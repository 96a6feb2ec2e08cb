"""The trace's σ counting: StalenessTally matches a per-gradient dict across folds and a restore;
binned_histogram keeps run.json short without losing a gradient."""
import random
from collections import Counter

from rudra.protocol.events import Applied
from rudra.protocol.trace import StalenessTally, binned_histogram


def _updates(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        yield tuple(Applied(rng.randrange(50), 0, 0, rng.randrange(300), 1.0, None) for _ in range(rng.randint(1, 4)))


def _naive(updates):
    hist, per = Counter(), {}
    for gradients in updates:
        for a in gradients:
            hist[a.staleness] += 1
            n, s = per.get(a.learner, (0, 0))
            per[a.learner] = [n + 1, s + a.staleness]
    return dict(sorted(hist.items())), dict(sorted(per.items()))


def test_counts_match_a_dict_across_folds():
    updates = list(_updates(0, 3 * StalenessTally.FOLD // 2))  # > FOLD gradients: at least one fold, then a rest
    t = StalenessTally()
    for u in updates:
        t.add(u)
    assert (t.histogram, t.per_learner) == _naive(updates)
    assert list(t.histogram) == sorted(t.histogram)


def test_restore_continues_the_counts():
    first, second = list(_updates(1, 500)), list(_updates(2, 700))
    a = StalenessTally()
    for u in first:
        a.add(u)
    b = StalenessTally()
    b.restore(a.histogram, a.per_learner)
    for u in second:
        b.add(u)
    assert (b.histogram, b.per_learner) == _naive(first + second)


def test_binned_histogram_is_exact_when_short_and_bounded_when_long():
    short = {0: 5, 3: 2, 99: 1}
    assert binned_histogram(short) == (1, [[0, 5], [3, 2], [99, 1]])
    long = {k: k % 7 + 1 for k in range(0, 16_384, 3)}
    width, bins = binned_histogram(long)
    assert width == 164 and len(bins) <= 100
    assert sum(c for _, c in bins) == sum(long.values())
    assert all(low % width == 0 for low, _ in bins)
    assert dict(bins)[width] == sum(v for k, v in long.items() if width <= k < 2 * width)
