"""The trace directory: schema, determinism, summary mode, run.json, and one-line errors."""
import pytest

from rudra.analysis import summarize
from rudra.protocol import ProtocolSpec, TrainSpec, read_run_json
from rudra.sim import ClusterSpec, SimError, SimSpec, simulate

JITTERY = {"sample_seconds": 0.01, "jitter_dist": "lognormal", "jitter_cv": 0.3, "latency": 0.001,
           "bandwidth": 1e8, "server_bandwidth": 1e8, "update_seconds": 1e-4, "update_dist": "exponential",
           "update_cv": 0.5, "straggler_prob": 0.05}


def test_full_trace_rows_are_consistent(run_sim):
    """One row per gradient: σ = applied − pulled, times ordered pull ≤ compute ≤ push ≤ applied,
    and each update's time equals its gradients' t_applied."""
    r = run_sim({"name": "softsync", "learners": 6, "n": 2}, cluster=JITTERY, samples=600)
    g, u = r.csv("gradients"), r.csv("updates")
    assert len(g) == r.summary["gradients"] == u.n_gradients.sum()
    assert (g.staleness == g.applied_version - g.pulled_version).all()
    assert ((g.t_pull <= g.t_compute_start) & (g.t_compute_start < g.t_compute_end)
            & (g.t_compute_end <= g.t_push) & (g.t_push < g.t_applied)).all()
    assert set(g.t_applied) == set(u.t) and u.version.tolist() == list(range(1, len(u) + 1))
    assert r.csv("staleness")["count"].sum() == len(g)


def test_same_seed_same_bytes(run_sim):
    """Same seed and config ⇒ byte-identical directory, except run.json's wall_seconds; another seed differs."""
    a, b = (run_sim({"name": "async", "learners": 5, "architecture": "adv*"}, cluster=JITTERY, seed=3)
            for _ in range(2))
    files = sorted(p.name for p in a.out.iterdir())
    assert files == sorted(p.name for p in b.out.iterdir())
    for name in files:
        if name != "run.json":
            assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name
    ja, jb = read_run_json(a.out), read_run_json(b.out)
    ja.pop("wall_seconds"), jb.pop("wall_seconds")
    assert ja == jb
    c = run_sim({"name": "async", "learners": 5, "architecture": "adv*"}, cluster=JITTERY, seed=4)
    assert (c.out / "gradients.csv").read_bytes() != (a.out / "gradients.csv").read_bytes()


def test_summary_trace_writes_histograms_not_rows(run_sim):
    """trace = "summary": no gradients.csv; staleness.csv and learners.csv hold the same counts as a full run, and
    the summary is the same but for the push path, which is timed from the full trace's rows."""
    full = run_sim({"learners": 4}, cluster=JITTERY)
    small = run_sim({"learners": 4}, cluster=JITTERY, sim={"trace": "summary"})
    assert not (small.out / "gradients.csv").exists()
    assert small.csv("staleness").equals(full.csv("staleness"))
    assert small.csv("learners").equals(full.csv("learners"))
    for run in (small, full):
        del run.summary["sim"]["push_path"]
    assert small.summary == full.summary


def test_run_json_holds_config_inputs_outcome_and_the_simulators_figures(run_sim, tmp_path):
    """run.json: the caller's config verbatim, seed, kind "sim", versions, machine, the derived inputs, the
    end-of-run facts, the simulator's figures under "sim" and wall_seconds (the runner adds the summary)."""
    r = run_sim({"learners": 2}, sim={"speedup": True}, seed=7, samples=100, model_bytes=123)
    info = read_run_json(r.out)
    assert set(info) == {"config", "seed", "kind", "versions", "machine", "inputs", "status", "stopped_by",
                         "seconds", "target_seconds", "gradients", "updates", "holds", "lost_learners", "sim",
                         "wall_seconds"}
    assert (info["config"], info["seed"], info["kind"]) == ({"test": True}, 7, "sim")
    assert info["inputs"] == {"learners": 2, "minibatch": 1, "train_samples": 100, "parameters": None,
                              "model_bytes": 123, "gradients_per_epoch": 100.0, "target_gradients": 100,
                              "epochs_target": 1.0}
    assert (info["status"], info["stopped_by"], info["gradients"]) == ("finished", "epochs", 100)
    assert info["target_seconds"] == info["seconds"] == r.summary["time_to_target"] > 0
    assert {"hostname", "platform", "cpus"} <= set(info["machine"])
    assert r.summary["sim"] == info["sim"] and info["sim"]["speedup"] == pytest.approx(2.0)


@pytest.mark.parametrize("protocol, cluster, match", [
    ({"learners": 3}, {"speeds": (1.0, 2.0)}, "allowed one speed per learner"),
    ({"learners": 3}, {"fan_in": 2}, "cluster.fan_in = 2"),
    ({"learners": 3, "name": "hardsync", "architecture": "adv*"}, {}, "protocol.architecture = 'adv\\*'"),
    ({"learners": 3}, {"jitter_dist": "normal"}, "cluster.jitter_cv = 0.0"),
])
def test_settings_the_user_must_fix_raise_one_line_sim_errors(tmp_path, protocol, cluster, match):
    """Anything the simulator cannot run is a SimError naming the field, the value and what is allowed."""
    with pytest.raises(SimError, match=match) as err:
        simulate(ProtocolSpec(**protocol), TrainSpec(), ClusterSpec(**cluster), SimSpec(), train_samples=100,
                 model_bytes=10, seed=0, out=tmp_path, config={}, progress=False)
    assert "\n" not in str(err.value)


def test_many_learners_stay_cheap(tmp_path):
    """λ = 20 000, summary trace: per-learner state is O(1), a round of gradients runs in well under a second."""
    simulate(ProtocolSpec(name="async", learners=20_000), TrainSpec(minibatch=1, epochs=1),
             ClusterSpec(jitter_dist="normal", jitter_cv=0.1, server_bandwidth=1e12),
             SimSpec(trace="summary", speedup=False), train_samples=40_000, model_bytes=1000, seed=0,
             out=tmp_path, config={}, progress=False)
    s = summarize(tmp_path)
    assert s["gradients"] == 40_000 and s["staleness"]["mean"] > 10_000 and len(s["learner_gradients"]) == 20_000


SHARED = {**JITTERY, "nodes": 1, "server_node": "shared", "cores_per_node": 2, "wakeup": [2e-4, 5e-4],
          "tick_seconds": 0.004, "recv_seconds": 2e-5, "push_seconds": 1e-4, "send_seconds": 3e-5}


@pytest.mark.parametrize("protocol, cluster", [
    ({"name": "hardsync", "learners": 4}, JITTERY),
    ({"name": "softsync", "learners": 6, "n": 2}, SHARED),  # a busy shared node: waits for a core and the loop
    ({"name": "async", "learners": 5, "architecture": "adv*", "shards": 2}, SHARED),
    ({"name": "async", "learners": 3, "architecture": "adv", "shards": 2}, {**JITTERY, "fan_in": 2}),  # a tree
])
def test_push_path_parts_add_up_to_push_to_applied(run_sim, protocol, cluster):
    """sim.push_path, as a real run's runtime.push_path: received, queued and served are each at least 0 and
    their means add up to the mean t_push → t_applied of the trace; without a full trace each is null."""
    r = run_sim(protocol, cluster=cluster, samples=600)
    g, path = r.csv("gradients"), r.summary["sim"]["push_path"]
    assert set(path) == {"received", "queued", "served"} and min(path.values()) >= 0
    assert sum(path.values()) == pytest.approx((g.t_applied - g.t_push).mean(), rel=1e-9)
    assert path["received"] >= cluster["latency"]
    small = run_sim(protocol, cluster=cluster, samples=600, sim={"trace": "summary"})
    assert small.summary["sim"]["push_path"] == dict.fromkeys(path)
