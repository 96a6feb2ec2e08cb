"""Cluster.run pauses the cyclic garbage collector; that is safe only while a run makes no reference cycles."""
import gc

import numpy as np
import pytest

from rudra.protocol import ProtocolSpec, TrainSpec, TraceWriter
from rudra.sim import ClusterSpec
from rudra.sim.cluster import Cluster

CLUSTER = dict(sample_seconds=0.01, jitter_dist="lognormal", jitter_cv=0.2, latency=1e-4, bandwidth=1.25e9,
               server_bandwidth=1.25e10, update_seconds=1e-5)


def _cyclic_garbage_of_the_simulator() -> list:
    """Objects of rudra or SimPy that only the cyclic collector could free. Other threads of the test process
    (left by earlier tests: tqdm's monitor, torch, dask) may make cyclic garbage of their own at any moment, so
    counting everything collected would depend on test order and load; a cycle made by a run holds at least
    one of the run's own objects (the cluster, a shard, a learner, a SimPy event or environment)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [o for o in gc.garbage if type(o).__module__.startswith(("rudra.", "simpy"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize("protocol, fan_in", [
    (dict(name="async", learners=16), None),
    (dict(name="hardsync", learners=16), None),
    (dict(name="softsync", learners=16, n=4, max_staleness=3), None),
    (dict(name="hardsync", learners=16, architecture="adv", shards=2), 4),
    (dict(name="async", learners=16, architecture="adv*", shards=2), 4),
    (dict(name="async", learners=16, architecture="adv*", max_staleness=4), 4),
])
@pytest.mark.parametrize("detail", ["full", "summary"])
def test_a_run_leaves_no_cyclic_garbage_and_restores_the_collector(tmp_path, protocol, fan_in, detail):
    with TraceWriter(tmp_path, detail=detail) as writer:
        cluster = Cluster(ProtocolSpec(**protocol), TrainSpec(minibatch=1, epochs=1), ClusterSpec(**CLUSTER, fan_in=fan_in),
                          train_samples=3000, model_bytes=100_000, seq=np.random.SeedSequence(1), writer=writer)
        gc.collect()
        cluster.run()
        assert gc.isenabled()
        assert _cyclic_garbage_of_the_simulator() == []


def test_simulate_restores_the_collector_it_pauses(run_sim):
    run_sim(protocol=dict(name="hardsync", learners=4))
    assert gc.isenabled()
