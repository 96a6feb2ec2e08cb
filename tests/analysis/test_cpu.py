"""CPU per gradient, read alike from a real run's runtime.cpu_seconds and the simulator's sim.cpu_seconds."""
import pytest

from rudra.analysis.cpu import PARTS, cpu_per_gradient


def test_a_real_runs_cpu_per_gradient_by_part():
    summary = {"gradients": 100, "runtime": {"cpu_seconds": {"learners": [0.3, 0.5], "learners_compute": [0.2, 0.3],
                                                             "server": 0.4}}}
    assert cpu_per_gradient(summary) == pytest.approx(dict(zip(PARTS, (0.005, 0.003, 0.004))))


def test_a_simulated_run_gives_its_server_per_shard_and_shard_0_is_read():
    summary = {"gradients": 10, "sim": {"cpu_seconds": {"learners": [0.1], "learners_compute": [0.06],
                                                        "server": [0.02, 0.5]}}}
    assert cpu_per_gradient(summary)["server, shard 0"] == pytest.approx(0.002)


@pytest.mark.parametrize("summary", [
    {"gradients": 10, "sim": {}},                                                            # not recorded
    {"gradients": 10, "runtime": {"cpu_seconds": {"learners": [0.1], "server": 0.1}}},     # no compute CPU
    {"gradients": 0, "runtime": {"cpu_seconds": {"learners": [0.1], "learners_compute": [0.1], "server": 0.1}}},
])
def test_nothing_where_a_run_counted_no_cpu(summary):
    assert cpu_per_gradient(summary) is None
