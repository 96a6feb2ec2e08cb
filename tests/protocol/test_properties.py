"""Property-based tests: random interleavings of many learners, every protocol."""
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rudra.protocol import (COMPUTING, HELD, IDLE, Hold, ParameterServer, ProtocolSpec, Send, TraceWriter, Update)

specs = st.builds(
    lambda name, learners, n_frac, policy, bound, arch: ProtocolSpec(
        name=name, learners=learners, n=max(1, round(n_frac * learners)) if name == "softsync" else None,
        lr_policy=policy, max_staleness=bound if name != "hardsync" else None,
        architecture="base" if name == "hardsync" else arch),
    st.sampled_from(["hardsync", "softsync", "async"]), st.integers(1, 12), st.floats(0, 1),
    st.sampled_from(["constant", "mean-staleness", "per-gradient"]), st.none() | st.integers(1, 6),
    st.sampled_from(["base", "adv*"]))


def play(spec, choices, tmp_path=None):
    """Drive the server with learner choices from hypothesis; return (server, pushed handles, decisions)."""
    server = ParameterServer(spec)
    overlap = spec.architecture == "adv*"
    sent: dict[int, int] = {}
    pushed, decisions = {}, []
    writer = TraceWriter(tmp_path, detail="full") if tmp_path else None
    next_id = spec.learners
    for k, (pick, action) in enumerate(choices):
        live = server.learners()
        if not live:
            server.join(next_id)
            next_id += 1
            continue
        l = live[pick % len(live)]
        state = server.state(l)
        if action == "leave" and len(live) > 1:
            out = server.leave(l)
        elif action == "join":
            out = server.join(next_id)
            next_id += 1
        elif state == IDLE or (overlap and state == COMPUTING and action == "pull"):
            out = server.pull(l)
        elif state == COMPUTING or (overlap and state == HELD and l in sent):
            pushed[k] = (l, sent[l])
            out = server.push(l, sent[l], k)
        else:
            continue
        for d in out:
            decisions.append(d)
            if type(d) is Send:
                sent[d.learner] = d.version
            elif type(d) is Update and writer:
                writer.update(d, float(k), [(0.0, 0.0, 0.0, 0.0)] * len(d.gradients))
    if writer:
        writer.close()
    return server, pushed, decisions


@settings(max_examples=150, deadline=None)
@given(specs, st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["step"] * 8 + ["pull", "leave", "join"])),
                       max_size=300))
def test_every_gradient_applied_once_versions_step_staleness_nonnegative(spec, choices):
    server, pushed, decisions = play(spec, choices)
    applied = [a for d in decisions if type(d) is Update for a in d.gradients]
    handles = [a.gradient for a in applied]
    assert len(handles) == len(set(handles)), "a gradient was applied twice"
    assert set(handles) <= set(pushed)
    assert len(pushed) == len(handles) + server.buffered, "a pushed gradient was lost"
    versions = [d.version for d in decisions if type(d) is Update]
    assert versions == list(range(1, len(versions) + 1))
    version = 0
    for d in decisions:
        if type(d) is Update:
            for a in d.gradients:
                assert a.staleness == version - a.pulled_version >= 0
                assert a.pulled_version == pushed[a.gradient][1]
                if spec.name == "hardsync":
                    assert a.staleness == 0
            version = d.version
        elif type(d) is Send:
            assert d.version == version
    if spec.name != "hardsync" and spec.max_staleness is None:
        assert not any(type(d) is Hold for d in decisions)


@settings(max_examples=40, deadline=None)
@given(specs, st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["step"] * 8 + ["pull", "leave"])),
                       max_size=150))
def test_trace_agrees_with_decisions(tmp_path_factory, spec, choices):
    out = tmp_path_factory.mktemp("trace")
    _, _, decisions = play(spec, choices, out)
    updates = [d for d in decisions if type(d) is Update]
    g = pd.read_csv(out / "gradients.csv")
    u = pd.read_csv(out / "updates.csv")
    assert list(u.version) == [d.version for d in updates]
    assert list(u.n_gradients) == [len(d.gradients) for d in updates]
    rows = [(a.learner, a.step, a.pulled_version, d.version - 1, a.staleness) for d in updates for a in d.gradients]
    assert [tuple(r) for r in g[["learner", "step", "pulled_version", "applied_version", "staleness"]].values] == rows
    assert (g.staleness == g.applied_version - g.pulled_version).all()
    hist = pd.read_csv(out / "staleness.csv")
    assert hist["count"].sum() == len(g)
