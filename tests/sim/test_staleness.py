"""The paper's staleness shape: λ = 30 homogeneous learners with jitter, n-softsync."""
import pytest

from rudra.analysis import summarize
from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.sim import ClusterSpec, SimSpec, simulate


@pytest.mark.slow
def test_n_softsync_mean_staleness_is_n_and_tail_is_short(tmp_path):
    """For n ∈ {1,2,5,10,15,30}, over 10⁵ gradients: ⟨σ⟩ within 10% of n (the protocol gives n·(λ−1)/λ:
    a learner's own gradient never ages it), P(σ > 2n) < 10⁻³, and 1-softsync has σ ∈ {0, 1, 2}."""
    for n in (1, 2, 5, 10, 15, 30):
        simulate(ProtocolSpec(name="softsync", learners=30, n=n), TrainSpec(minibatch=1, epochs=1),
                 ClusterSpec(jitter_dist="lognormal", jitter_cv=0.1), SimSpec(trace="summary", speedup=False),
                 train_samples=100_000, model_bytes=1000, seed=n, out=tmp_path / str(n), config={}, progress=False)
        s = summarize(tmp_path / str(n))
        hist = dict(s["staleness_histogram"])
        total = sum(hist.values())
        assert total >= 100_000
        assert s["staleness"]["mean"] == pytest.approx(n, rel=0.10)
        assert s["staleness"]["mean"] == pytest.approx(n * 29 / 30, rel=0.01)
        assert sum(c for sigma, c in hist.items() if sigma > 2 * n) / total < 1e-3
        if n == 1:
            assert set(hist) == {0, 1, 2}
