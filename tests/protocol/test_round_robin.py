"""The paper's staleness shape on a scripted round-robin cluster of λ = 30 homogeneous learners."""
import pytest

from tests.protocol.harness import Cluster


@pytest.mark.parametrize("n", [1, 2, 5, 15, 30])
def test_mean_staleness_is_close_to_n(n):
    c = Cluster(name="softsync", learners=30, n=n)
    c.round_robin(30 * 200)
    sigma = c.staleness()[300:]          # past the start-up transient
    assert abs(sum(sigma) / len(sigma) - n) <= 0.1 * n


def test_one_softsync_staleness_stays_within_two():
    c = Cluster(name="softsync", learners=30, n=1)
    c.round_robin(30 * 100)
    assert set(c.staleness()) <= {0, 1, 2}


def test_async_equals_lambda_softsync():
    a = Cluster(name="async", learners=30)
    s = Cluster(name="softsync", learners=30, n=30)
    a.round_robin(3000)
    s.round_robin(3000)
    assert a.staleness() == s.staleness()
