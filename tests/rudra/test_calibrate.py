"""Calibration: profiles merge into an experiment (rudra/profile.py); measurements become a profile
(rudra/calibrate.py); `rudra calibrate` end to end (slow)."""
import contextlib
import re
from pathlib import Path

import numpy as np
import pytest

from rudra.calibrate import fit_jitter, fit_law, profile, ramp_law, split_inflation, write_profile
from rudra.config import ConfigError, load, parse
from rudra.runtime.calibrate import Measured, median_reading, pooled
from rudra.sim import ClusterSpec

EXPERIMENT = """
[protocol]
learners = 2
[train]
minibatch = 8
[cluster]
minibatch_seconds = 0.0003
minibatch_seconds_at = 8
latency = 0.001
"""
PROFILE = """
# measured on somewhere, 2026-11-29
[cluster]
compute_overhead = 0.0001
sample_seconds = 0.00002
latency = 0.0002
jitter_cv = 0.05
jitter_dist = "lognormal"
"""


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    (tmp_path / "prof.toml").write_text(PROFILE)
    return tmp_path


def test_a_command_line_profile_replaces_the_files_cluster_values_and_its_compute_law(files):
    """--profile wins over the file, and its law replaces the file's measured time (no mixing); --set wins over both."""
    c = load(files / "exp.toml", [], str(files / "prof.toml")).cluster
    assert (c.latency, c.jitter_cv, c.compute_overhead, c.sample_seconds) == (0.0002, 0.05, 0.0001, 0.00002)
    assert c.minibatch_seconds is None and c.minibatch_seconds_at is None
    assert c.profile == str(files / "prof.toml")
    assert load(files / "exp.toml", ["cluster.latency=0.5"], str(files / "prof.toml")).cluster.latency == 0.5


def test_a_profile_named_in_the_file_is_overridden_by_the_files_own_keys(files):
    """[cluster] profile = "prof.toml" (relative to the file) fills in what the file leaves out."""
    (files / "exp.toml").write_text(EXPERIMENT.replace("[cluster]\n", '[cluster]\nprofile = "prof.toml"\n'))
    c = load(files / "exp.toml").cluster
    assert (c.latency, c.jitter_cv, c.minibatch_seconds, c.sample_seconds) == (0.001, 0.05, 0.0003, None)


@pytest.mark.parametrize("text, says", [
    ("[cluster]\nprofile = 'other.toml'\n", "allowed only in an experiment file"),
    ("[cluster]\nlatency = 1.0\n[train]\nminibatch = 2\n", "one [cluster] table and nothing else"),
])
def test_a_file_that_is_not_a_profile_is_one_line(files, text, says):
    (files / "prof.toml").write_text(text)
    with pytest.raises(ConfigError) as e:
        load(files / "exp.toml", [], str(files / "prof.toml"))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_a_missing_profile_is_one_line(files):
    with pytest.raises(ConfigError, match="no such file"):
        load(files / "exp.toml", [], str(files / "nowhere.toml"))


# --- fitting what was measured (rudra/calibrate.py) ------------------------------------------------------

def test_the_compute_law_is_fitted_over_mu():
    """t(μ) = 0.1 ms + 0.02 ms × μ with 5 % lognormal noise: recovered within 2 %."""
    rng = np.random.default_rng(0)
    compute = {mu: (1e-4 + 2e-5 * mu * rng.lognormal(0, 0.05, 400)).tolist() for mu in (2, 4, 8, 16, 32)}
    overhead, per_sample, worst = fit_law(compute)
    assert overhead == pytest.approx(1e-4, rel=0.02) and per_sample == pytest.approx(2e-5, rel=0.02)
    assert worst < 0.02


@pytest.mark.parametrize("dist", ["normal", "lognormal", "exponential"])
def test_the_jitter_distribution_that_fits_is_picked(dist):
    """Each of the simulator's distributions, drawn with cv 0.25, is recognised and its cv measured."""
    from rudra.sim.distributions import factors
    times = (1e-3 * factors(np.random.default_rng(1), dist, 0.25, 3000)).tolist()
    picked, cv, scores = fit_jitter(times)
    assert picked == dist and cv == pytest.approx(0.25, rel=0.1) and set(scores) >= {"normal", "lognormal"}


def test_a_wide_spread_is_never_fitted_with_a_clipped_normal():
    """cv 2 (a busy machine's preemptions): lognormal keeps the mean at 1 where the clipped normal would not."""
    times = (1e-3 * np.random.default_rng(2).lognormal(0, 1.2, 3000)).tolist()
    picked, cv, scores = fit_jitter(times)
    assert picked == "lognormal" and cv > 1 and set(scores) == {"lognormal"}


def test_steady_compute_has_no_jitter():
    assert fit_jitter([1e-3] * 100)[:2] == ("constant", 0.0)


def measured(**changes) -> Measured:
    base = dict(compute={4: [1e-3] * 50, 8: [1.8e-3] * 50}, slowdown=[1.0, 0.98, 1.6], interleaved=[2e-3, 2.2e-3],
                rtts=[1e-4, 3e-4] * 50,
                frames=[0.0021] * 20, frame_bytes=4_000_000, recv_seconds=1e-4, send_seconds=5e-5,
                update_seconds=3e-5, server_warmup=2e-3, memory_bandwidth=4e9, alone_compute=[2.1e-3, 2.3e-3] * 20,
                alone_jitter=[2.1 / 2.2, 2.3 / 2.2] * 20, alone_levels=[2.2e-3], wide_levels=[],
                alone_gaps=[5e-4, 7e-4] * 25, alone_server_cpu=2e-4, alone_learner_cpu=2.25e-3, alone_first=8e-3,
                alone_warmup=5e-3, alone_exchange=5e-5, alone_from=4, wide_minibatch=8, wide_compute=[], wide_gaps=[],
                interleaved_wide=[], crowd=2, paced_exchange=[], shard_pairs=[], shards=1,
                busy_gaps=[7e-4, 2.6e-3, 2e-3], busy_duty=[0.5, 1.0, 1.0], busy_exchange=[6e-5, 7e-5, 7e-5],
                busy_computes=[[2.1e-3, 2.3e-3] * 20] * 3, shard_bytes=10_000,
                cpus=2, load=0.5, stolen=0.012, compute_end=[1.8e-3] * 50,
                cold=[(6e-4, 2e-3), (1.1e-3, 2.1e-3), (4.2e-3, 2.4e-3)],
                cold_beside=2, update_pairs=[])
    given = {**base, **changes}
    # the interleaved computes idled the pause alone (no wait for a core) unless a test says otherwise
    given.setdefault("interleaved_idle", [6e-4] * len(given["interleaved"]))
    given.setdefault("interleaved_wide_idle", [6e-4] * len(given["interleaved_wide"]))
    return Measured(**given)


def test_the_profile_says_how_much_the_machine_changed_while_it_was_measured():
    """The minibatch at μ timed alone first and again last: a steady machine gets the figure, one that changed by
    more than 10 % (here 1.8 → 2.16 ms, +20 %) also the advice to calibrate again."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    def drift(m: Measured) -> str:
        return next(line for line in profile(exp, m)[1] if line.startswith("the machine while measuring"))

    steady = drift(measured())
    assert steady == ("the machine while measuring: a minibatch at μ = 8 alone took 1.8 ms at the start and 1.8 ms "
                      "at the end (+0 %)")
    changed = drift(measured(compute_end=[2.16e-3] * 50))
    assert "1.8 ms at the start and 2.16 ms at the end (+20 %)" in changed and "calibrate again" in changed


def test_the_profile_is_what_simulate_reads(tmp_path):
    """The written profile loads as a [cluster] (every value valid), says where and when it was measured, keeps the
    slowdown from falling below 1 or going down with k, takes the compute law's slope and the real learner's
    level (2.2 ms at μ = 8), counts the real server's CPU per gradient beyond its parts timed alone as push_seconds
    (0.2 ms against 0.1 + 0.0325 + 0.05), the real learner's beyond its compute as exchange (2.25 − 2.2 ms),
    leaves latency as half the real gap less both processes' CPU, and half the gap's growth beside j processes,
    over the chance min(1, j × their duty / cores) that a message finds its core busy, as the wakeup delay
    (bandwidth: 4 MB frames in 2.1 ms less half a 0.2 ms round trip, 2 GB/s)."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured())
    write_profile(tmp_path / "p.toml", cluster, lines)
    text = (tmp_path / "p.toml").read_text()
    assert text.startswith("# Calibration profile written by `rudra calibrate`: measured on ") and " UTC" in text
    assert "load average 0.50 before" in text and "a hypervisor took 1.2 % of its CPU time meanwhile" in text
    (tmp_path / "exp.toml").write_text("[protocol]\nlearners = 2\n[train]\nminibatch = 8\n")
    c = load(tmp_path / "exp.toml", [], str(tmp_path / "p.toml")).cluster
    assert (c.nodes, c.server_node, c.cores_per_node, c.slowdown) == (1, "shared", 2.0, (1.0, 1.0, 1.6))
    assert (c.compute_overhead, c.sample_seconds) == (pytest.approx(2.2e-3 - 8 * 2e-4), pytest.approx(2e-4))
    assert c.bandwidth == c.server_bandwidth == pytest.approx(2e9)
    update = 3e-5 + 10_000 / 4e9
    assert (c.recv_seconds, c.push_seconds) == (1e-4, pytest.approx(2e-4 - 1e-4 - update - 5e-5, rel=1e-3))
    assert c.exchange_seconds == pytest.approx(5e-5, rel=1e-3)
    hop = 10_000 / 2e9
    assert c.latency == pytest.approx((6e-4 - 5e-5 - 2e-4 - 2 * hop) / 2, rel=1e-3)
    # half the gap's growth ÷ min(1, j × duty / cores), never falling: 0.05 ms ÷ 1/4, 1 ms ÷ 1, then 1 ms kept
    assert c.wakeup == pytest.approx((2e-4, 1e-3, 1e-3))
    assert c.startup_seconds == pytest.approx(8e-3 - 6e-4)  # the first compute's start less one gap (its pull)
    assert (c.server_warmup_seconds, c.warmup_seconds) == (2e-3, 3e-3)  # the first update's, the learner the rest
    assert c.jitter_dist != "constant" and c.jitter_cv == pytest.approx(0.1 / 2.2, rel=1e-3)
    assert c.memory_bandwidth == 4e9


def test_an_update_costs_what_the_real_server_spent_per_update_never_less_than_its_step():
    """Three pairs of a real server's CPU per gradient with an update per gradient and with one per two: each
    pair says an update costs (c1 − c2) ÷ (1 − 0.5), here 0.06, 0.1 and 0.02 ms; their median, 0.06 ms, is the
    update's whole fixed cost (the step timed alone: 0.03 ms + 10 kB ÷ 4 GB/s), and what the server spends per
    gradient beyond recv, that update and send is push_seconds. Pairs that say less than the step keep it."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    pairs = [((3e-4, 1.0), (2.7e-4, 0.5)), ((3.1e-4, 1.0), (2.6e-4, 0.5)), ((2.9e-4, 1.0), (2.8e-4, 0.5))]
    cluster, lines = profile(exp, measured(alone_server_cpu=3e-4, update_pairs=pairs))
    step = 3e-5 + 10_000 / 4e9
    assert cluster["update_seconds"] == pytest.approx(3e-5 + 6e-5 - step, rel=1e-3)
    assert cluster["push_seconds"] == pytest.approx(3e-4 - 1e-4 - 6e-5 - 5e-5, rel=1e-3)
    assert any("so an update costs it 0.06 ms" in line for line in lines)
    cheap = [((3e-4, 1.0), (2.95e-4, 0.5))] * 3  # 0.01 ms an update: less than the step
    cluster, _ = profile(exp, measured(alone_server_cpu=3e-4, update_pairs=cheap))
    assert cluster["update_seconds"] == pytest.approx(3e-5)
    assert cluster["push_seconds"] == pytest.approx(3e-4 - 1e-4 - step - 5e-5, rel=1e-3)


def test_the_profile_has_the_kernels_tick_where_its_config_says():
    """The tick bounds a woken thread's wait behind a busy one while a core is idle: written as tick_seconds
    where calibrate read it, and where it could not, left out with a line saying so (no guessed 4 ms)."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    read, lines = profile(exp, measured(tick=0.004))
    assert read["tick_seconds"] == 0.004 and any("ticks every 4 ms" in line for line in lines)
    unread, lines = profile(exp, measured())
    assert "tick_seconds" not in unread and any("CONFIG_HZ) is not readable" in line for line in lines)


def test_the_tick_is_read_from_the_first_kernel_config_that_has_it(tmp_path):
    """/proc/config.gz is gzipped, /boot/config-RELEASE plain: CONFIG_HZ = 250 is a 4 ms tick; a missing file, one
    without CONFIG_HZ or a broken gzip is passed over; none at all reads None."""
    import gzip
    from rudra.runtime.calibrate import scheduler_tick
    with gzip.open(tmp_path / "config.gz", "wt") as f:
        f.write("CONFIG_NO_HZ=y\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n")
    (tmp_path / "boot").write_text("# CONFIG_HZ_1000 is not set\nCONFIG_HZ=1000\n")
    (tmp_path / "bare").write_text("CONFIG_NO_HZ=y\n")
    (tmp_path / "broken.gz").write_text("not gzip")
    missing = str(tmp_path / "nowhere.gz")
    assert scheduler_tick((missing, str(tmp_path / "config.gz"), str(tmp_path / "boot"))) == 0.004
    assert scheduler_tick((str(tmp_path / "broken.gz"), str(tmp_path / "bare"), str(tmp_path / "boot"))) == 0.001
    assert scheduler_tick((missing, str(tmp_path / "bare"))) is None


def test_the_profile_reports_how_computes_beside_busy_processes_are_preempted():
    """Beside j busy processes a real compute mostly takes its time alone and now and then loses a whole hold of
    its core: the profile reports their median and p90 over alone's median beside the simulator's law (holds
    of mean wakeup), and writes no field of its own for it."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    alone = [2.1e-3, 2.3e-3] * 20
    held = [2.2e-3] * 30 + [6.6e-3] * 10  # a quarter of them lost 4.4 ms: p90 3× alone, median alone
    cluster, lines = profile(exp, measured(alone_compute=alone, busy_computes=[alone, held, held]))
    assert "median 1.00 1.00 1.00 and p90 1.05 3.00 3.00" in next(line for line in lines if "(wakeup" in line)
    assert not any("contention" in key for key in cluster)


def test_each_shard_beyond_the_first_costs_the_learner_what_its_real_run_with_them_did_in_company():
    """Beside 2 busy processes the real learner's exchange took 0.2 ms more CPU per gradient with the run's 3
    shards than with one, on the mean of three pairs measured in turn (0.42 against 0.22 ms, each pair's own
    difference 0.1-0.3 ms): 0.1 ms for each shard beyond the first, over the exchange inflation the simulator
    applies on that node of 1 + 3 + 2 processes (exchange_inflation[4], here 1.25 from 0.2 → 0.25 ms beside 4:
    exchange_shard_seconds); with one shard nothing is written, and more shards that cost less (noise) never
    give a negative cost."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    crowded = dict(alone_exchange=2e-4, busy_exchange=[2e-4, 2.2e-4, 2.2e-4, 2.5e-4],
                   shard_pairs=[(2.2e-4, 5.2e-4), (1.7e-4, 3.2e-4), (2.7e-4, 4.2e-4)])
    cluster, lines = profile(exp, measured(shards=3, cpus=4, **crowded))
    assert cluster["exchange_shard_seconds"] == pytest.approx(1e-4 / 1.25, rel=1e-3)  # 4 digits written
    assert cluster["exchange_inflation"] == [1.0, 1.0, 1.1, 1.1, 1.25]
    assert any("0.22 ms with one shard and 0.42 ms with 3 (means of 3 pairs, one then the other: 0.22/0.52, "
               "0.17/0.32, 0.27/0.42 ms)" in line for line in lines)
    assert "exchange_shard_seconds" not in profile(exp, measured())[0]
    cheaper = measured(shards=2, shard_pairs=[(2e-4, 6e-5)] * 3)
    assert "exchange_shard_seconds" not in profile(exp, cheaper)[0]


def test_the_exchange_beside_the_crowd_is_the_median_of_the_readings_beside_processes_paced_as_learners():
    """Beside processes computing back to back the exchange inflates far more than beside a run's learners (a
    cnn calibration: 0.68 ms alone, 1.72 ms beside 2 such, 1.04 ms in its λ = 4 runs), so at j = crowd = cores the
    entry is the median of the readings beside processes that pause as learners do, the shard pairs' one-shard
    ones among them (the same measurement): 0.4 ms over 0.2 alone, the 1.0 ms beside processes computing back
    to back left out; the entry before it keeps its one reading. With more cores than the crowd, the reading
    at j = crowd was itself paced, and counts."""
    exp = parse({"protocol": {"learners": 4, "architecture": "adv", "shards": 2}, "train": {"minibatch": 8}})
    pairs = [(4.2e-4, 6.4e-4), (2.7e-4, 5.5e-4), (3.8e-4, 3.8e-4)]
    crowded = dict(alone_exchange=2e-4, busy_exchange=[3e-4, 1e-3, 9e-4], crowd=2, shards=2)
    cluster, lines = profile(exp, measured(cpus=2, paced_exchange=[4e-4, 5e-4, 4e-4], shard_pairs=pairs, **crowded))
    assert cluster["exchange_inflation"] == [1.0, 1.5, 2.0]
    assert any("beside 2, the median of 0.4 0.5 0.4 ms beside 2 computing and pausing as learners do and the 3 "
               "one-shard readings of the shard pairs: 0.4 ms" in line for line in lines)
    one_shard = {**crowded, "shards": 1}
    assert profile(exp, measured(cpus=2, paced_exchange=[5e-4, 4e-4, 4e-4], **one_shard))[0]["exchange_inflation"] \
        == [1.0, 1.5, 2.0]
    cluster, lines = profile(exp, measured(cpus=4, shard_pairs=pairs, **crowded))
    assert cluster["exchange_inflation"][:3] == [1.0, 1.5, 2.0]  # the median of 1.0, 0.42, 0.27, 0.38 ms
    assert any("beside 2, the median of that reading and the 3 one-shard readings of the shard pairs: 0.4 ms" in line
               for line in lines)
    alone = profile(exp, measured(alone_exchange=2e-4, busy_exchange=[3e-4, 1e-3, 9e-4], cpus=2, crowd=2))[0]
    assert alone["exchange_inflation"] == [1.0, 1.5, 5.0]  # one shard: no second reading to outvote it


def test_readings_beside_busy_processes_are_each_their_median_so_one_slow_spell_is_outvoted():
    """Three readings of the learner beside one busy process, one of them in a slow spell (its gaps 0.97 ms and
    exchange 0.35 ms where the others read 0.60-0.68 and 0.24-0.26): the gap, the exchange and the duty are each
    the median, the computes all of them; one reading is itself."""
    def reading(gaps, exchange, duty, compute):
        return {"alone_gaps": gaps, "alone_exchange": exchange, "alone_compute": compute}, duty
    readings = [reading([0.6e-3, 0.6e-3], 2.4e-4, 0.6, [1e-3]), reading([0.9e-3, 1.04e-3], 3.5e-4, 0.7, [2e-3]),
                reading([0.68e-3, 0.68e-3], 2.6e-4, 0.5, [3e-3])]
    assert median_reading(readings) == (pytest.approx(0.68e-3), [1e-3, 2e-3, 3e-3], pytest.approx(2.6e-4), 0.6)
    assert median_reading(readings[1:2]) == (pytest.approx(0.97e-3), [2e-3], pytest.approx(3.5e-4), 0.7)


def test_the_real_learners_readings_pool_into_one_whose_jitter_is_each_runs_own():
    """Two readings of the real learner, one in a slow spell (every compute 1.5 ms where the other's alternate
    0.9/1.1 ms after a ramp of 1.3 ms): gradient by gradient the mean, each number the mean; the jitter is each
    reading's second half about its own mean (the ramp adds none, nor does the slow one: its level is drift)."""
    def reading(compute, gaps, exchange):
        return {"alone_compute": compute, "alone_gaps": gaps, "alone_from": 5, "alone_exchange": exchange,
                "alone_first": 0.05}
    fast = reading([1.3e-3] * 4 + [0.9e-3, 1.1e-3] * 2, [0.5e-3] * 7, 2e-4)
    slow = reading([1.5e-3] * 8, [0.7e-3] * 8, 4e-4)
    one = pooled([fast, slow])
    assert one["alone_compute"] == pytest.approx([1.4e-3] * 4 + [1.2e-3, 1.3e-3] * 2)
    assert one["alone_gaps"] == pytest.approx([0.6e-3] * 7)  # as long as the shortest
    assert (one["alone_exchange"], one["alone_first"], one["alone_from"]) == (pytest.approx(3e-4), 0.05, 5)
    assert one["alone_levels"] == pytest.approx([1.15e-3, 1.5e-3])
    assert one["alone_jitter"] == pytest.approx([0.9, 1.1, 0.9, 1.1, 1, 1, 1, 1])


def test_the_profile_shows_the_spread_of_the_pooled_readings():
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    lines = profile(exp, measured(alone_levels=[1.9e-3, 2.2e-3, 2.6e-3]))[1]
    assert "a real learner at μ = 8: 2.2 ms (the mean of 3 readings in turn, 1.9-2.6 ms)" in "\n".join(lines)
    assert "readings in turn" not in "\n".join(profile(exp, measured())[1])  # one reading: nothing to show


def test_cpu_that_does_not_fit_into_the_gap_is_off_the_critical_path():
    """When the real server's and learner's CPU per gradient add up to more than one learner's gap (part of it runs
    on threads while the other process works), the part beyond the gap comes off push_seconds and exchange in proportion and
    is kept as offpath_seconds (the learner's) and server_offpath_seconds: one learner's gap still comes out as
    measured (latency 0), and no CPU is lost."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    m = measured(alone_server_cpu=4e-4, alone_exchange=3e-4)
    cluster, lines = profile(exp, m)
    update = 3e-5 + 10_000 / 4e9
    hop = 10_000 / 2e9
    push, exchange = cluster["push_seconds"], cluster["exchange_seconds"]
    assert cluster["latency"] == 0.0 and not any("e-1" in line for line in lines)  # not a float residue
    assert exchange + 1e-4 + push + update + 5e-5 + 2 * hop == pytest.approx(6e-4, rel=1e-3)  # the gap
    assert exchange / push == pytest.approx(3e-4 / (4e-4 - 1e-4 - update - 5e-5), rel=1e-3)
    offpath, server_offpath = cluster["offpath_seconds"], cluster["server_offpath_seconds"]
    assert offpath + server_offpath + push + exchange == pytest.approx(4e-4 - 1e-4 - update - 5e-5 + 3e-4, rel=1e-3)
    assert offpath / server_offpath == pytest.approx(exchange / push, rel=1e-3)  # each process's own CPU
    assert any("overlapped" in line for line in lines)


def test_sharing_is_never_faster_than_the_cores_allow():
    """A window alone that happened to run slow divides every ratio: a measured 1.35 for 4 processes on 2 cores
    (seen once here, against 2.0 to 2.1 in repeats) is impossible for CPU-bound work and is raised to k / cores."""
    exp = parse({"protocol": {"learners": 3}, "train": {"minibatch": 8}})
    cluster, _ = profile(exp, measured(slowdown=[1.0, 1.0, 1.2, 1.35, 2.6]))
    assert cluster["slowdown"] == [1.0, 1.0, 1.5, 2.0, 2.6]


def test_compute_inflation_is_relative_to_a_learner_beside_its_server_and_never_falls():
    """CPU per minibatch with n = 2..5 learner-like processes: each over n = 2's, and a dip (noise: more working
    sets cannot make the caches warmer) held at the level before it; with only two processes, nothing to write."""
    exp = parse({"protocol": {"learners": 3}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured(interleaved=[2e-3, 2.2e-3, 2.1e-3, 2.6e-3],
                                           interleaved_idle=[6e-4, 8e-4, 1.1e-3, 1.5e-3]))
    assert cluster["compute_inflation"] == [1.0, 1.1, 1.1, 1.3]
    assert any("compute_inflation" in line for line in lines)
    # the idle those computes had, whose cold cost the factors hold: the simulator charges only what is beyond
    assert cluster["inflation_idle"] == [6e-4, 8e-4, 1.1e-3, 1.5e-3]
    assert any("idle before each 0.6 0.8 1.1 1.5 ms" in line and "inflation_idle" in line for line in lines)
    cluster, lines = profile(parse({"train": {"minibatch": 8}}), measured(interleaved=[2e-3]))
    assert "compute_inflation" not in cluster and "inflation_idle" not in cluster


def test_the_inflation_splits_into_the_overhead_s_and_the_per_sample_part_s_where_that_part_is_large():
    """Computes at μ = 8 and 32 with n = 2, 3, 4 learner-like processes whose laws are 1.0, 0.9 and 1.1 ms + 0.05,
    0.06 and 0.07 ms × μ: the overhead inflates 1, 1 (a dip, held) and 1.1, the per-sample part 1, 1.2 and 1.4;
    a per-sample part under half of a compute at μ = 32 (the digits mlp's) keeps one factor on the whole."""
    fixed, per = [1.0e-3, 0.9e-3, 1.1e-3], [5e-5, 6e-5, 7e-5]
    at8, at32 = [f + p * 8 for f, p in zip(fixed, per)], [f + p * 32 for f, p in zip(fixed, per)]
    whole = [1.0, 1.05, 1.1]
    overhead, sample = split_inflation(at8, at32, 8, 32, whole)
    assert overhead == pytest.approx([1.0, 1.0, 1.1]) and sample == pytest.approx([1.0, 1.2, 1.4])
    assert split_inflation([1.3e-4, 1.4e-4], [1.4e-4, 1.5e-4], 8, 32, whole[:2]) == (whole[:2], [])
    assert split_inflation(at8, [], 8, 32, whole) == (whole, [])
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured(interleaved=at8, interleaved_wide=at32, wide_minibatch=32))
    assert cluster["compute_inflation"] == [1.0, 1.0, 1.1] and cluster["sample_inflation"] == [1.0, 1.2, 1.4]
    said = "1.00 1.00 1.10 × on its overhead (compute_inflation) and 1.00 1.20 1.40 × on its per-sample part"
    assert any(said in line for line in lines)


def test_exchange_inflation_is_the_learners_exchange_in_company_over_alone_and_never_falls():
    """The real learner's CPU per gradient besides its computes beside j = 1, 2 busy processes (n = 3, 4) over
    beside its server alone, a dip held at the level before it, and none beyond the 2 cores (j = 3: processes
    computing back to back, as no learner does); it is also what exchange_seconds is; with no process beside (or
    no exchange measured), nothing to write."""
    exp = parse({"protocol": {"learners": 3}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured(alone_exchange=2e-4, busy_exchange=[3e-4, 2.8e-4, 5e-4], cpus=2))
    assert cluster["exchange_inflation"] == [1.0, 1.5, 1.5]
    assert cluster["exchange_seconds"] == pytest.approx(2e-4) and "offpath_seconds" not in cluster  # fits the gap
    assert any("(exchange_inflation)" in line for line in lines)
    for changes in ({"busy_exchange": []}, {"alone_exchange": 0.0}):
        assert "exchange_inflation" not in profile(exp, measured(**changes))[0]


def test_the_cold_law_is_relative_to_the_alone_gap_and_never_falls():
    """CPU per minibatch after each idle time, the first at the alone gap: the extra seconds over it, a dip (noise:
    a longer idle cannot find warmer caches) held at the level before it, and an idle measured no longer than the
    one before (a pause the process overslept) left out; the profile says what it measured."""
    from rudra.calibrate import cold_law
    idle, extra = cold_law([(6e-4, 2e-3), (1.1e-3, 2.1e-3), (1.0e-3, 2.9e-3), (2.2e-3, 2.05e-3), (4.2e-3, 2.4e-3)])
    assert idle == [6e-4, 1.1e-3, 2.2e-3, 4.2e-3]
    assert extra == pytest.approx([0.0, 1e-4, 1e-4, 4e-4])
    cluster, lines = profile(parse({"train": {"minibatch": 8}}), measured())
    assert cluster["cold_idle"] == [6e-4, 1.1e-3, 4.2e-3] and cluster["cold_seconds"] == pytest.approx([0, 1e-4, 4e-4])
    assert any("cold_seconds" in line for line in lines)
    cluster, _ = profile(parse({"train": {"minibatch": 8}}), measured(cold=[(0.02, 2e-3)]))  # a gap beyond 16 ms
    assert "cold_idle" not in cluster and "cold_seconds" not in cluster


def test_the_ramp_is_each_stretchs_cycle_beyond_the_steady_one():
    """Cycles (compute + gap) from gradient 5 on, 0.3 ms longer than steady up to gradient 20, 0.1 up to 50,
    steady (a little faster: noise) up to 100, 0.05 up to 200: those are the stretches' waits, the steady window
    begins at gradient 200, and a run too short to leave half its gradients after a bound has no ramp."""
    extra = [3e-4] * 15 + [1e-4] * 30 + [-1e-5] * 50 + [5e-5] * 100 + [0.0] * 300
    compute = [1e-3 + e for e in extra]
    gaps = [5e-4] * len(extra)
    until, waits, steady = ramp_law(compute, gaps, 5)
    assert until == [20, 50, 100, 200] and steady == 195
    assert waits == pytest.approx([3e-4, 1e-4, 0.0, 5e-5])
    assert ramp_law(compute[:40], gaps[:40], 5) == ([20], [pytest.approx(2e-4)], 15)  # steady: the 0.1 ms stretch
    assert ramp_law(compute[:20], gaps[:20], 5) == ([], [], 0)


def test_the_profile_has_the_ramp_and_the_steady_levels():
    """A real learner whose first 45 timed cycles ran 0.4 ms long: the profile's ramp says so, its compute level
    and gap are the steady ones, and its warm-up is over the steady cycle, less what the ramp's first stretch
    already waits."""
    compute = [2.4e-3] * 15 + [2.0e-3] * 485
    gaps = [6e-4] * 15 + [5e-4] * 485
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    m = measured(alone_compute=compute, alone_gaps=gaps, alone_from=5, alone_warmup=5e-3, server_warmup=0.0)
    cluster, lines = profile(exp, m)
    assert cluster["ramp_until"] == [20, 50, 100, 200]
    assert cluster["ramp_seconds"] == pytest.approx([5e-4, 0.0, 0.0, 0.0])
    per_sample = fit_law(m.compute)[1]
    assert cluster["compute_overhead"] == pytest.approx(2.0e-3 - 8 * per_sample, rel=1e-3)
    whole = np.mean(compute) + np.mean(gaps)
    assert cluster["warmup_seconds"] == pytest.approx(5e-3 + 5 * (whole - 2.5e-3 - 5e-4), rel=1e-3)
    assert any(line.startswith("its gradients up to 20, 50, 100, 200 took 0.5 0 0 0 ms longer") for line in lines)


def test_the_ramp_is_linear_in_mu_between_the_real_learner_at_mu_and_at_the_laws_largest():
    """The first stretch 0.2 ms long at μ = 8 and 0.5 ms at μ = 32: 0.1 ms + 0.0125 ms × μ, which the simulator
    reads back as those two waits; the stretches both runs show longer than steady, none else."""
    steady = [2.0e-3] * 485
    compute, wide = [2.2e-3] * 15 + steady, [2.5e-3] * 15 + steady
    gaps = [5e-4] * 500
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured(alone_compute=compute, alone_gaps=gaps, alone_from=5, wide_minibatch=32,
                                           wide_compute=wide, wide_gaps=gaps))
    assert cluster["ramp_until"] == [20, 50, 100, 200]
    assert cluster["ramp_seconds"] == pytest.approx([1e-4, 0, 0, 0], abs=1e-12)
    assert cluster["ramp_sample_seconds"] == pytest.approx([1.25e-5, 0, 0, 0], abs=1e-12)
    spec = ClusterSpec(**{k: cluster[k] for k in ("ramp_until", "ramp_seconds", "ramp_sample_seconds")})
    assert spec.ramp(8)[:20] == pytest.approx([2e-4] * 20) and spec.ramp(32)[:20] == pytest.approx([5e-4] * 20)
    assert any("; at μ = 32, 0.5 0 0 0 ms (ramp_until, ramp_seconds, ramp_sample_seconds: linear in μ" in line
               for line in lines)


def test_the_compute_law_is_the_real_learners_at_mu_and_at_the_laws_largest():
    """A real learner at μ = 8 (2.2 ms) and at μ = 32 (5 ms) sets the law the simulator uses: its slope and its
    level, whatever the law timed outside a run; a real slope that is not positive (noise) keeps the law's."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    cluster, lines = profile(exp, measured(wide_minibatch=32, wide_compute=[5e-3] * 40))
    assert cluster["sample_seconds"] == pytest.approx(2.8e-3 / 24, rel=1e-3)
    assert cluster["compute_overhead"] == pytest.approx(2.2e-3 - 8 * 2.8e-3 / 24, rel=1e-3)
    assert any("a real learner at μ = 8: 2.2 ms, at μ = 32: 5 ms, so 1.267 ms + 0.1167 ms × μ" in line
               for line in lines)
    flat, lines = profile(exp, measured(wide_minibatch=32, wide_compute=[2e-3] * 40))
    assert flat["sample_seconds"] == pytest.approx(fit_law(measured().compute)[1], rel=1e-3)
    assert any("the real learners' was not positive" in line for line in lines)


@pytest.mark.parametrize("server, total, split", [(2e-3, 1e-3, (1e-3, 0.0)), (2e-3, -1e-3, (0.0, 0.0))])
def test_warmup_never_goes_negative(server, total, split):
    """The server's first-update excess is capped by the whole warm-up the real run showed (it is part of it),
    and a steady start (noise making the first gradients look faster) is no warm-up at all."""
    exp = parse({"protocol": {"learners": 2}, "train": {"minibatch": 8}})
    cluster, _ = profile(exp, measured(server_warmup=server, alone_warmup=total))
    assert (cluster["server_warmup_seconds"], cluster["warmup_seconds"]) == split


# --- end to end ------------------------------------------------------------------------------------------

TINY = """
[experiment]
name = "tiny"
[protocol]
name = "async"
learners = 2
[train]
minibatch = 8
lr = 0.05
epochs = 1.0
[model]
name = "mlp"
hidden = [16]
[data]
name = "digits"
train_limit = 256
[runtime]
timeout = 20.0
"""


def test_the_real_learner_is_timed_with_the_runs_optimizer(monkeypatch):
    """The weights' values change what a compute costs (the small cnn: 0.80 ms a minibatch with lr 0.1, momentum
    0.9, 0.89-1.0 ms with 0.02 and 0.5), so the real learner calibrate times trains as the run will."""
    import rudra.runtime.calibrate as measuring

    seen = []

    def train(protocol, spec, *args, **kwargs):
        seen.append(spec)
        raise InterruptedError

    monkeypatch.setattr(measuring, "train", train)
    exp = parse({"train": {"minibatch": 8, "lr": 0.02, "momentum": 0.5, "weight_decay": 1e-4}})
    target = measuring.Target(model=exp.model, data=exp.data, runtime=exp.runtime, train=exp.train, shards=1,
                              processes=2, seed=0, seconds=0.1)
    with pytest.raises(InterruptedError):
        measuring._alone(target)
    assert (seen[0].minibatch, seen[0].lr, seen[0].momentum, seen[0].weight_decay) == (8, 0.02, 0.5, 1e-4)


def fake_worker(monkeypatch) -> list[int]:
    """Measuring processes get a worker that computes nothing and a stream of zeros; the μ of each gradient asked
    for, in order, is recorded in the list returned."""
    import rudra.runtime.calibrate as measuring

    asked = []

    class Worker:
        def gradient(self, indices):
            asked.append(len(indices))

    class Stream:
        def __init__(self, mu):
            self.mu = mu

        def next_indices(self):
            return np.zeros(self.mu, dtype=np.int64)

    monkeypatch.setattr(measuring, "_worker", lambda target: (Worker(), Stream))
    return asked


def test_the_compute_law_takes_its_minibatch_sizes_in_turns(monkeypatch):
    """A slow spell of the machine must touch every μ alike (one window per μ, one after the other, once made
    the mlp's law 0 ms + 0.0067 ms × μ): the μ take turns, one minibatch each, after each one's warm-up."""
    import rudra.runtime.calibrate as measuring

    order = fake_worker(monkeypatch)
    exp = parse({"train": {"minibatch": 8}})
    target = measuring.Target(model=exp.model, data=exp.data, runtime=exp.runtime, train=exp.train, shards=1,
                              processes=2, seed=0, seconds=0.0)
    times = measuring._compute(target, [2, 8, 32])
    warm = measuring.WARMUP
    assert order[:3 * warm] == [2] * warm + [8] * warm + [32] * warm
    assert order[3 * warm:] == [2, 8, 32] * 3 and all(len(t) == 3 for t in times.values())


def test_the_cold_pauses_take_turns(monkeypatch):
    """A slow spell must touch every idle time alike: the pauses after each minibatch take turns, a window of
    each per round (2 rounds of 0.1 s here), whatever the machine's load (sleeps recorded, not slept)."""
    import rudra.runtime.calibrate as measuring

    fake_worker(monkeypatch)
    slept = []
    monkeypatch.setattr(measuring.time, "sleep", slept.append)
    exp = parse({"train": {"minibatch": 8}})
    target = measuring.Target(model=exp.model, data=exp.data, runtime=exp.runtime, train=exp.train, shards=1,
                              processes=2, seed=0, seconds=0.2)
    ready = type("Ready", (), {"wait": lambda self, timeout: None})()
    paced = measuring._paced(target, ready, [0.001, 0.004])
    blocks = [pause for i, pause in enumerate(slept) if i == 0 or slept[i - 1] != pause]
    assert blocks == [0.001, 0.004, 0.001, 0.004] and len(paced) == 2
    # each window holds its untimed first compute and at least one timed one
    assert all(slept.count(pause) >= 2 * 2 for pause in (0.001, 0.004))

def test_readings_in_turns_are_the_median_over_rounds_of_each_windows_mean():
    """Each window's means over every process's computes in it; per setting, the medians over its windows: one
    slow round (a spell of the machine) moves no setting's reading."""
    from rudra.runtime.calibrate import LaunchError, turn_readings, turns

    settings = turns(range(2, 4), [8, 32])
    assert settings == [(2, 8), (2, 32), (3, 8), (3, 32)]
    base = {(2, 8): 1.0, (2, 32): 4.0, (3, 8): 1.2, (3, 32): 5.0}
    answers = [[], [], []]
    for r, slow in enumerate((1.0, 3.0, 1.1)):  # round 1 ran in a slow spell
        for i, setting in enumerate(settings):
            window = r * len(settings) + i
            for index in range(setting[0]):
                cpu = base[setting] * slow * (1 + 0.1 * index)
                answers[index] += [(window, cpu, 2 * cpu, 3 * cpu)] * 2
    readings = turn_readings(answers, settings)
    for setting, level in base.items():
        spread = np.mean([1 + 0.1 * index for index in range(setting[0])])
        assert readings[setting] == pytest.approx((level * 1.1 * spread, 2 * level * 1.1 * spread,
                                                   3 * level * 1.1 * spread))
    with pytest.raises(LaunchError, match=r"\(processes, μ\) = \(3, 32\)"):
        turn_readings([[(w, 1.0, 1.0)] for w in range(3)], settings)


def test_a_process_in_turns_computes_only_in_its_windows_and_times_no_cold_compute(monkeypatch):
    """Process 2 of 3 computes only in the windows of n = 3, at each window's μ, and the first compute of each
    window it computes in (after a sleep, or at another μ) is not timed. Holds whatever the machine's load: a
    window the process oversleeps is one it times nothing in."""
    import rudra.runtime.calibrate as measuring

    calls = fake_worker(monkeypatch)

    class Ready:
        def wait(self, timeout):
            pass

    class Start:
        value = 0.0

        def get_lock(self):
            return contextlib.nullcontext()

    exp = parse({"train": {"minibatch": 8}})
    target = measuring.Target(model=exp.model, data=exp.data, runtime=exp.runtime, train=exp.train, shards=1,
                              processes=3, seed=0, seconds=0.0)
    settings = measuring.turns(range(2, 4), [8, 32])
    timed = measuring._turn(target, Ready(), Start(), 2, settings, 2, 0.01, 0.0005)
    warm = 2 * measuring.WARMUP
    assert sorted(set(calls[:warm])) == [8, 32] and set(calls[warm:]) <= {8, 32}
    assert timed and {settings[w % 4][0] for w, *_ in timed} == {3}  # n = 2 windows: process 2 sleeps
    assert len(timed) <= len(calls) - warm - len({w for w, *_ in timed})  # a first compute per window, untimed
    assert all(idle >= 0.0005 for *_, idle in timed)  # each timed compute idled its pause before it, at least


@pytest.mark.slow
def test_calibrate_simulate_train_compare(tmp_path, capsys):
    """This machine, end to end: calibrate (--quick) → simulate with the profile → train the same config for real →
    compare: the profile holds every measured setting, and the table and figure are written with every cell filled."""
    from rudra.cli import main
    exp, prof = tmp_path / "tiny.toml", tmp_path / "profile.toml"
    exp.write_text(TINY)
    assert main(["calibrate", str(exp), "--quick", "--out", str(prof)]) == 0
    assert "calibrated -> " in capsys.readouterr().out
    cluster = load(exp, [], str(prof)).cluster
    assert cluster.slowdown[0] == 1.0 and len(cluster.slowdown) == 3 and cluster.recv_seconds > 0
    assert len(cluster.wakeup) == 1  # beside j = 1 other process (λ + S − 2)
    assert cluster.compute_inflation[0] == 1.0 and len(cluster.compute_inflation) == 2  # n = 2, 3 processes
    assert len(cluster.cold_idle) == len(cluster.cold_seconds) > 1 and cluster.cold_seconds[0] == 0.0
    assert re.search(r"^# one process pausing after each minibatch beside \d+ computing back to back, idle",
                     prof.read_text(), re.M)  # a count of processes, not another measurement's result
    sim, real, cmp = tmp_path / "sim", tmp_path / "real", tmp_path / "compare"
    assert main(["simulate", str(exp), "--profile", str(prof), "--out", str(sim)]) == 0
    assert main(["train", str(exp), "--out", str(real)]) == 0
    assert main(["compare", str(sim), str(real), "--out", str(cmp)]) == 0
    assert all((cmp / f"compare.{ext}").stat().st_size > 0 for ext in ("md", "png", "svg"))
    rows = [line for line in (cmp / "compare.md").read_text().splitlines() if line.startswith("| ")][1:]
    cells = [cell.strip() for row in rows for cell in row.strip("|").split("|")]
    assert len(rows) >= 8 and all(cells) and not any(c.lower() in ("nan", "none", "—", "-") for c in cells)


@pytest.mark.slow
def test_calibrate_times_the_learner_with_the_runs_shards(tmp_path):
    """With 2 shards (adv) calibrate runs the real learner with one shard and with both, in turn, in company, and
    says what the second costs it; the profile still loads as a [cluster]."""
    from rudra.cli import main
    exp, prof = tmp_path / "tiny.toml", tmp_path / "profile.toml"
    exp.write_text(TINY)
    shards = ["--set", "protocol.shards=2", "--set", "protocol.architecture=adv"]
    assert main(["calibrate", str(exp), "--quick", *shards, "--out", str(prof)]) == 0
    assert re.search(r"its CPU per gradient besides its computes was [0-9.]+ ms with one shard and [0-9.]+ ms "
                     r"with 2 \(means of 3 pairs, one then the other: ([0-9.]+/[0-9.]+(, )?){3} ms\), so",
                     prof.read_text())
    assert load(exp, [s for s in shards if s != "--set"], str(prof)).cluster.exchange_shard_seconds >= 0.0
