"""Faults end in a clear outcome within the configured timeout, and nothing applied is lost.

A learner that dies or hangs is reported by rank: softsync/async go on
without it (and say so in the summary), hardsync stops with one line naming
it, or shrinks its barrier when told to. A server that dies takes its
learners down with a clear message. Every process is gone afterwards.
"""
import multiprocessing
import time

import pandas as pd
import pytest

from rudra.runtime import LaunchError

from .conftest import check_trace, launch, specs

FAST = {"timeout": 3.0}


def no_children_left():
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_async_goes_on_without_a_dead_learner_and_names_it(run_dir):
    changes = dict(protocol={"name": "async", "learners": 3}, train={"epochs": 2.0},
                   runtime=dict(FAST, fault="learner-exit", fault_target=1, fault_after=5))
    summary = launch(run_dir, **changes)
    (lost,) = summary["runtime"]["lost"]
    assert (lost["learner"], lost["rank"]) == (1, 2) and summary["runtime"]["learners_left"] == 2
    assert lost["reason"] == "closed its connection"  # the project's words, not gloo's
    assert summary["lost_learners"] == 1
    s = specs(**changes)
    tables = check_trace(run_dir, s["protocol"], s["train"], 256)
    assert summary["gradients"] == 64 and summary["learner_gradients"][1] <= 5
    assert tables["gradients.csv"].groupby("learner").size()[1] == summary["learner_gradients"][1]
    pushes = summary["runtime"]["pushes"]  # every push the server took in is applied, dropped, or left over
    assert sum(pushes["received"]) - sum(pushes["dropped"]) - pushes["unapplied"] == len(tables["gradients.csv"])
    assert pushes["numbered"] == pushes["received"] and pushes["received"][1] == 5
    no_children_left()


@pytest.mark.slow
def test_hardsync_stops_naming_a_hung_learner_within_the_timeout(run_dir):
    start = time.monotonic()
    with pytest.raises(LaunchError, match=r"learner 2 \(rank 3\) sent nothing for 3 s: hardsync stops") as e:
        launch(run_dir, protocol={"learners": 3}, train={"epochs": 5.0},
               runtime=dict(FAST, fault="learner-hang", fault_target=2, fault_after=3))
    assert "\n" not in str(e.value)
    assert time.monotonic() - start < 3.0 + 15.0  # the timeout, plus starting and stopping the processes
    no_children_left()


@pytest.mark.slow
def test_hardsync_shrinks_its_barrier_when_told_to(run_dir):
    changes = dict(protocol={"learners": 3}, train={"epochs": 2.0},
                   runtime=dict(FAST, fault="learner-exit", fault_target=0, fault_after=2, on_learner_loss="shrink"))
    summary = launch(run_dir, **changes)
    assert [l["learner"] for l in summary["runtime"]["lost"]] == [0] and summary["runtime"]["barrier"] == 2
    updates = pd.read_csv(run_dir / "updates.csv")
    assert set(updates.n_gradients) <= {2, 3} and updates.n_gradients.iloc[-1] == 2
    no_children_left()


@pytest.mark.slow
def test_a_dead_server_takes_its_learners_down_with_a_clear_message(run_dir):
    start = time.monotonic()
    with pytest.raises(LaunchError, match=r"^server shard 0 \(rank 0\) died \(exit code 1\)$") as e:
        launch(run_dir, protocol={"name": "async", "learners": 2}, train={"epochs": 5.0},
               runtime=dict(FAST, fault="server-exit", fault_after=20))
    assert "\n" not in str(e.value) and time.monotonic() - start < 2 * 3.0 + 15.0
    no_children_left()


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint_with_the_trace_appended(run_dir):
    changes = dict(protocol={"name": "async", "learners": 2}, train={"epochs": 2.0},
                   runtime=dict(FAST, checkpoint_every=10, fault="server-exit", fault_after=25))
    with pytest.raises(LaunchError, match="died"):
        launch(run_dir, **changes)
    assert len(pd.read_csv(run_dir / "updates.csv")) <= 25
    changes["runtime"] = dict(FAST, checkpoint_every=10)
    summary = launch(run_dir, resume=True, **changes)
    assert summary["runtime"]["resumed"] == 1 and summary["updates"] == summary["gradients"] == 64
    s = specs(**changes)
    check_trace(run_dir, s["protocol"], s["train"], 256)  # versions 1..64 once each, steps without gaps
    no_children_left()
