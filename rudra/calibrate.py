"""`rudra calibrate`: measure this machine for an experiment (runtime/calibrate.py) and write the [cluster]
profile the simulator reads (`rudra simulate EXP --profile PROFILE`, or `[cluster] profile = ...`).

The profile describes a local run: every process on one node (nodes = 1, the server shares it), its cores
and their measured slowdown, the compute law fitted over μ with its jitter, the server's costs per message
and per update, and the gloo link between two processes. Where and when it was measured, and how well each
fit holds, are comments at its top.
"""
from __future__ import annotations

import datetime
import math
import platform
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tomli_w
from scipy import stats

from rudra.config import Experiment
from rudra.sim.cores import inflation_at

SECONDS, QUICK_SECONDS = 1.0, 0.1  # length of each timing window
DRIFT = 0.10  # a change of the machine's speed during calibration worth a warning (runs here drift 3-10 %)
STEADY_CV = 0.005                   # below this the jitter is left out (constant)
NORMAL_CV = 0.3                     # above this the simulator's clipped normal no longer has mean 1
SPLIT_SHARE = 0.5  # the per-sample part of a compute at the wide μ below which its own inflation is not read
RAMP = (20, 50, 100, 200)  # gradient counts bounding the ramp's stretches: the digits mlp's real learners took
                           # 0.21, 0.18, 0.09 and 0.02 ms more per gradient in them than from gradient 200 on


def fit_law(compute: dict[int, list[float]]) -> tuple[float, float, float]:
    """(overhead, seconds per sample, worst relative residual) of t(μ) = overhead + per_sample × μ, least
    squares over the median time at each μ (a minibatch that waited behind another process says nothing
    about μ); a negative overhead is fitted again through the origin.

    The level at the experiment's μ comes from a real learner's mean instead (profile): a real run pays for
    the minibatches and messages that wait for a core behind another process too."""
    mus = np.array(sorted(compute), dtype=float)
    means = np.array([np.median(compute[int(m)]) for m in mus])
    if len(mus) > 1:
        per_sample, overhead = np.polyfit(mus, means, 1)
    else:
        per_sample, overhead = means[0] / mus[0], 0.0
    if overhead < 0 or per_sample <= 0:
        overhead, per_sample = 0.0, float(means @ mus / (mus @ mus))
    worst = float(np.max(np.abs(overhead + per_sample * mus - means) / means))
    return float(overhead), float(per_sample), worst


def fit_jitter(times: list[float]) -> tuple[str, float, dict[str, float]]:
    """(distribution, cv, KS distance of each candidate) of the minibatch times scaled to mean 1: the
    candidate of sim/distributions.py with that cv that fits best (constant when cv < STEADY_CV)."""
    x = np.asarray(times, dtype=float)
    x = x / x.mean()
    cv = float(x.std())
    if cv < STEADY_CV or len(x) < 10:
        return "constant", 0.0, {}
    s = math.sqrt(math.log1p(cv * cv))
    candidates = {"lognormal": stats.lognorm(s, scale=math.exp(-s * s / 2))}
    if cv <= NORMAL_CV:
        candidates["normal"] = stats.norm(1.0, cv)
    if cv <= 1.0:
        candidates["exponential"] = stats.expon(loc=1.0 - cv, scale=cv)
    scores = {name: float(stats.kstest(x, d.cdf).statistic) for name, d in candidates.items()}
    return min(scores, key=scores.get), cv, scores


def ramp_law(compute: list[float], gaps: list[float], first: int) -> tuple[list[int], list[float], int]:
    """(ramp_until, ramp_seconds, where the steady window starts in the lists) from one real learner's computes
    and gaps from its gradient `first` on: how much longer a cycle (a compute and the gap after it) took in each
    of RAMP's stretches than in the steady window, which begins at the last bound that leaves half the gradients
    after it. Medians: one slow spell of the machine in a stretch of 15 gradients (one read 0.64 ms more per
    gradient over gradients 50-100, then 0 again) is not the process. A stretch faster than steady has no ramp."""
    n = min(len(compute), len(gaps))
    cycles = np.asarray(compute[:n]) + np.asarray(gaps[:n])
    until = [b for b in RAMP if b - first <= n // 2]
    if not until:
        return [], [], 0
    steady = until[-1] - first
    level, lo, waits = float(np.median(cycles[steady:])), 0, []
    for b in until:
        waits.append(max(0.0, float(np.median(cycles[lo:b - first])) - level))
        lo = b - first
    return until, waits, steady


def through(mu: int, at_mu, wide_mu: int, at_wide) -> tuple[np.ndarray, np.ndarray]:
    """(fixed part, part per sample) of the line through (μ, at_mu) and (wide_mu, at_wide), element-wise: a law
    read off measurements at two minibatch sizes."""
    per = (np.asarray(at_wide, dtype=float) - np.asarray(at_mu, dtype=float)) / (wide_mu - mu)
    return np.asarray(at_mu, dtype=float) - per * mu, per


def crowd_exchange(m) -> list[float]:
    """The learner's exchange CPU per gradient beside j = 1, 2, … busy processes: at j = crowd, the median of
    every reading beside processes paced as learners are (runtime/calibrate.py: exchange), the shard pairs'
    one-shard ones among them; there the reading beside processes computing back to back is left out."""
    readings = list(m.busy_exchange)
    if 0 < m.crowd <= len(readings):
        paced = m.paced_exchange or readings[m.crowd - 1:m.crowd]
        readings[m.crowd - 1] = float(np.median([*paced, *(one for one, _ in m.shard_pairs)]))
    return readings


def split_inflation(cpus: list[float], wide: list[float], mu: int, wide_mu: int,
                    whole: list[float]) -> tuple[list[float], list[float]]:
    """(compute_inflation, sample_inflation) from the CPU of a compute with n = 2, 3, … learner-like processes at
    μ and at wide_mu: each process count's law through the two, its overhead and its per-sample part each over
    n = 2's, never falling. Only where the per-sample part is at least SPLIT_SHARE of a compute at wide_mu and
    both parts are positive at every n: on a law as flat as the digits mlp's (0.0004 ms × μ of 0.13 ms), the
    difference of two noisy readings says nothing of it. Otherwise (`whole`, []): one factor on the compute."""
    if len(wide) != len(cpus) or len(cpus) < 2:
        return whole, []
    fixed, per = through(mu, cpus, wide_mu, wide)
    if min(per) <= 0 or min(fixed) <= 0 or per[0] * wide_mu < SPLIT_SHARE * wide[0]:
        return whole, []
    overhead, sample = [1.0], [1.0]
    for f, p in zip(fixed[1:], per[1:]):
        overhead.append(round(max(float(f / fixed[0]), overhead[-1]), 4))
        sample.append(round(max(float(p / per[0]), sample[-1]), 4))
    return overhead, sample


def profile(exp: Experiment, m) -> tuple[dict, list[str]]:
    """The [cluster] table and the comment lines describing where, when and how well (m: runtime Measured)."""
    mu = exp.train.minibatch
    law_overhead, per_sample, worst = fit_law(m.compute)
    # a fresh learner is not at speed for its first hundreds of gradients (the ramp): the levels are its steady ones
    ramp_until, ramp, steady = ramp_law(m.alone_compute, m.alone_gaps, m.alone_from)
    # and it ramps longer at large μ (the digits mlp's real runs: 2-4 times the wait at μ = 32 as at 8): linear in μ
    # between the real learner at μ and at the law's largest, stretch by stretch
    wide_until, wide_ramp, wide_steady = ramp_law(m.wide_compute, m.wide_gaps, m.alone_from)
    if wide_until and ramp_until:
        ramp_until = ramp_until[:len(wide_until)]
        ramp, wide_ramp = ramp[:len(ramp_until)], wide_ramp[:len(ramp_until)]
        ramp_fixed, ramp_slope = through(mu, ramp, m.wide_minibatch, wide_ramp)
    else:
        wide_ramp, ramp_fixed, ramp_slope = [], ramp, [0.0] * len(ramp)
    in_loop = float(np.mean(m.alone_compute[steady:]))
    # the real learner's slope, from it at μ and at the law's largest μ: a compute in a real learner costs more than
    # the law's at large μ (the small cnn's at μ = 32: 1.85-2.25 ms in real learners minutes apart, 1.81-1.94 ms as
    # the law times it), so the law's level set at μ alone predicted μ = 32 fast; the law's own slope where the
    # real one is not positive (noise, on a law as flat as the digits mlp's)
    wide = float(np.mean(m.wide_compute[wide_steady:])) if m.wide_compute else in_loop
    slope = float(through(mu, in_loop, m.wide_minibatch, wide)[1]) if m.wide_compute else 0.0
    slope = slope if slope > 0 else per_sample
    overhead = max(0.0, in_loop - slope * mu)
    dist, cv, scores = fit_jitter(m.alone_jitter)
    slowdown = [1.0]
    for k, s in enumerate(m.slowdown[1:], start=2):
        # noise (a slow window alone, which every ratio divides by) must not make sharing faster with more
        # processes, nor k processes computing each faster than c cores shared by k allow
        slowdown.append(round(max(s, slowdown[-1], k / m.cpus), 4))
    # a compute beside learner-like processes costs more CPU than beside its server alone (n = 2, where the law's
    # level is measured): caches hold more working sets; noise must not make it cheaper with more of them
    inflation = [1.0]
    for cpu in m.interleaved[1:]:
        inflation.append(round(max(cpu / m.interleaved[0], inflation[-1]), 4))
    inflation, sample_inflation = split_inflation(m.interleaved, m.interleaved_wide, mu, m.wide_minibatch, inflation)
    # its exchange (CPU per gradient besides its computes) beside j busy processes, a node of n = j + 2, over beside
    # its server alone: far more than a compute's inflation (runtime/calibrate.py: waking); never cheaper with more.
    # Up to j = cores only, and there beside processes paced as learners are: beside processes computing back to
    # back, as no learner does, it overstates a run's (the cnn's 1.72 ms beside 2, its λ = 4 runs' 1.04 ms). One
    # reading spreads far (the cnn's beside 2: 0.27-1.04 ms), so that entry is the median of all taken there.
    exchange_beside = crowd_exchange(m)
    crowd_note = ""  # where the entry at `crowd` comes from, if not its one reading
    if m.crowd <= len(m.busy_exchange) and (m.paced_exchange or m.shard_pairs):
        sources = ([f"{' '.join(f'{x * 1e3:.3g}' for x in m.paced_exchange)} ms beside {m.crowd} computing and "
                    "pausing as learners do"] if m.paced_exchange else ["that reading"])
        sources += [f"the {len(m.shard_pairs)} one-shard readings of the shard pairs"] if m.shard_pairs else []
        crowd_note = f" (beside {m.crowd}, the median of {' and '.join(sources)}: " \
                     f"{exchange_beside[m.crowd - 1] * 1e3:.3g} ms)"
    exchange_inflation = [1.0] if m.alone_exchange > 0 else []
    for x in exchange_beside[:m.cpus] if exchange_inflation else ():
        exchange_inflation.append(round(max(x / m.alone_exchange, exchange_inflation[-1]), 4))
    cold_idle, cold_seconds = cold_law(m.cold)
    shard_bytes = m.shard_bytes
    step = m.update_seconds + (shard_bytes / m.memory_bandwidth if math.isfinite(m.memory_bandwidth) else 0.0)
    # what an update costs the real server (runtime/calibrate.py: updates), from each pair's CPU per gradient
    # with one update per gradient and with fewer, the median over pairs; never less than its step alone: the
    # rest (trace, bookkeeping) is charged per update as part of its fixed cost, and off push_seconds
    per_update = [(c1 - c2) / (u1 - u2) for (c1, u1), (c2, u2) in m.update_pairs if u1 > u2]
    update = max(step, float(np.median(per_update))) if per_update else step
    rtt, gap = float(np.mean(m.rtts)), float(np.mean(m.alone_gaps[steady:]))
    ramped_gap = float(np.mean(m.alone_gaps))  # over the whole run, its ramp too: as the measurements paced by it
    bandwidth = m.frame_bytes / max(float(np.mean(m.frames)) - rtt / 2, 1e-9)
    hop = shard_bytes / bandwidth
    # The real server spends more per gradient than its parts timed alone (the protocol's decisions, the
    # trace): the rest is counted per gradient received (push_seconds). Some of that and of the
    # learner's exchange runs while the other process works (a receive thread, gloo's own): what does not fit
    # into the gap comes off both, in proportion, so that one learner's gap comes out as measured, and only
    # takes core time (offpath: the learner's threads, and the server's, whose CPU it is).
    bookkeeping = max(0.0, m.alone_server_cpu - (m.recv_seconds + update + m.send_seconds))
    exchange = max(0.0, m.alone_exchange)
    extra = bookkeeping + exchange
    room = max(0.0, gap - 2 * hop - m.recv_seconds - update - m.send_seconds)
    overlap = 1 - room / extra if extra > room else 0.0
    offpath, server_offpath = exchange * overlap, bookkeeping * overlap
    bookkeeping, exchange = bookkeeping * (1 - overlap), exchange * (1 - overlap)
    # each shard beyond the first: one more push to fill and send, one more weights message to take in, as it costs
    # on a node as busy as the run's (runtime/calibrate.py: shards), the mean over pairs measured in turn; the
    # simulator inflates the whole exchange on a shared node, so the inflation of the measurement's node of
    # 1 + S + crowd processes is taken off
    law = exchange_inflation or inflation
    crowded_node = inflation_at(law, 1 + m.shards + m.crowd)
    one_shard, sharded = (np.mean(m.shard_pairs, axis=0) if m.shard_pairs else (0.0, 0.0))
    per_shard = max(0.0, sharded - one_shard) / (m.shards - 1) / crowded_node if m.shard_pairs else 0.0
    # what is left of the gap, half per message; none when the CPU overflowed it (not float residue: 1e-20 s)
    latency = 0.0 if overlap else (room - extra) / 2
    # a gap holds two messages: each waits half the gap's growth, if its core is busy (with chance min(1, k / cores)
    # for the k of the j processes beside computing then; on average j × their duty)
    wakeup = []
    for j, (busy_gap, duty) in enumerate(zip(m.busy_gaps, m.busy_duty), start=1):
        wait = (busy_gap - ramped_gap) / 2 / min(1.0, max(j * duty, 1e-3) / m.cpus)
        wakeup.append(max(wait, wakeup[-1] if wakeup else 0.0))
    # computes beside busy processes, their median and p90 over alone's median: reported beside the simulator's
    # preemption (their time alone, now and then a hold of the core of mean wakeup), not fitted
    held = [np.percentile(t, [50, 90]) / np.median(m.alone_compute) for t in m.busy_computes]
    startup = max(0.0, m.alone_first - gap)  # the first compute waits one gap (a pull) besides the start-up
    # The first gradients cost more than the steady ones (lazy initialisation, cold caches, the optimizer's
    # state): the server's part is its first update's, timed alone; the learner's is the rest. alone_warmup is
    # over the mean cycle of the whole run; here it is over the steady one, less the ramp's first stretch, which
    # those gradients wait too.
    whole = float(np.mean(m.alone_compute)) + float(np.mean(m.alone_gaps))
    warmup = max(0.0, m.alone_warmup + m.alone_from * (whole - in_loop - gap - (ramp[0] if ramp else 0.0)))
    server_warmup = min(m.server_warmup, warmup)
    cluster = {"compute_overhead": overhead, "sample_seconds": slope, "exchange_seconds": exchange,
               "startup_seconds": startup, "warmup_seconds": warmup - server_warmup,
               "server_warmup_seconds": server_warmup}
    if any(ramp) or any(wide_ramp):
        cluster |= {"ramp_until": ramp_until, "ramp_seconds": [_sig(float(r)) for r in ramp_fixed],
                    **({"ramp_sample_seconds": [_sig(float(b)) for b in ramp_slope]} if any(ramp_slope) else {})}
    if offpath > 0:
        cluster["offpath_seconds"] = offpath
    if server_offpath > 0:
        cluster["server_offpath_seconds"] = server_offpath
    if per_shard > 0:
        cluster["exchange_shard_seconds"] = per_shard
    if dist != "constant":
        cluster |= {"jitter_dist": dist, "jitter_cv": round(cv, 4)}
    cluster |= {"nodes": 1, "server_node": "shared", "cores_per_node": float(m.cpus), "slowdown": slowdown,
                **({"compute_inflation": inflation} if len(inflation) > 1 else {}),
                **({"sample_inflation": sample_inflation} if sample_inflation else {}),
                **({"inflation_idle": [_sig(i) for i in m.interleaved_idle]} if len(inflation) > 1 else {}),
                **({"exchange_inflation": exchange_inflation} if len(exchange_inflation) > 1 else {}),
                **({"cold_idle": cold_idle, "cold_seconds": cold_seconds} if len(cold_idle) > 1 else {}),
                **({"wakeup": [_sig(w) for w in wakeup]} if wakeup else {}),
                **({"tick_seconds": m.tick} if m.tick else {}),
                "latency": latency, "bandwidth": bandwidth, "server_bandwidth": bandwidth,
                "recv_seconds": m.recv_seconds, "push_seconds": bookkeeping, "send_seconds": m.send_seconds,
                "update_seconds": m.update_seconds + update - step}
    if math.isfinite(m.memory_bandwidth):
        cluster["memory_bandwidth"] = m.memory_bandwidth
    cluster = {k: _sig(v) for k, v in cluster.items()}
    rt, model = exp.runtime, exp.model
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fits = ", ".join(f"{n} {d:.3f}" for n, d in sorted(scores.items(), key=lambda kv: kv[1]))
    lines = [
        f"Calibration profile written by `rudra calibrate`: measured on {socket.gethostname()} "
        f"({platform.platform()}, {m.cpus} cores), {now}, load average {m.load:.2f} before (other work on "
        "this machine slows every number below)"
        + ("" if m.stolen is None else f"; a hypervisor took {100 * m.stolen:.1f} % of its CPU time meanwhile"),
        f"for model {model.name} on data {exp.data.name}, μ = {mu}, {rt.threads} torch thread(s), backend "
        f"{rt.backend}, device {rt.device}; {len(m.slowdown)} processes ({exp.protocol.learners} learners + "
        f"{exp.protocol.shards} server shard(s)).",
        f"compute per minibatch: {law_overhead * 1e3:.4g} ms + {per_sample * 1e3:.4g} ms × μ, fitted over μ = "
        f"{', '.join(map(str, sorted(m.compute)))} (worst residual {100 * worst:.1f} %); a real learner at μ = "
        f"{mu}: {in_loop * 1e3:.4g} ms{_levels(m.alone_levels)}"
        + (f", at μ = {m.wide_minibatch}: {wide * 1e3:.4g} ms{_levels(m.wide_levels)}" if m.wide_compute else "")
        + f", so {overhead * 1e3:.4g} ms + {slope * 1e3:.4g} ms × μ"
        + (" (the law's slope: the real learners' was not positive)" if m.wide_compute and slope == per_sample else ""),
        f"its jitter: cv {cv:.3f} over {len(m.alone_jitter)} minibatches (the second half of each reading, over "
        f"its own mean), {dist}"
        + (f" (KS distance {fits})" if scores else ""),
        drift_line(m, mu),
        f"k processes computing at once, k = 1..{len(m.slowdown)}: each slower by "
        f"{' '.join(f'{s:.2f}' for s in m.slowdown)}",
        f"n = 2..{len(m.interleaved) + 1} processes computing and each pausing {ramped_gap * 1e3:.3g} ms after each "
        f"minibatch, as learners wait for weights, the settings taking turns: CPU per minibatch (median over rounds) "
        f"{' '.join(f'{c * 1e3:.3g}' for c in m.interleaved)} ms"
        + (f" (at μ = {m.wide_minibatch}: {' '.join(f'{c * 1e3:.3g}' for c in m.interleaved_wide)} ms)"
           if m.interleaved_wide else "")
        + f", idle before each {' '.join(f'{i * 1e3:.3g}' for i in m.interleaved_idle)} ms"
        + (f" ({' '.join(f'{i * 1e3:.3g}' for i in m.interleaved_wide_idle)} ms)" if m.interleaved_wide else "")
        + " (their pause and their waits for a core: inflation_idle, whose cold cost these factors hold)"
        + ", so a learner's compute on a node of n processes costs "
        + (f"{' '.join(f'{x:.2f}' for x in inflation)} × its time beside its server alone (compute_inflation)"
           if not sample_inflation else
           f"{' '.join(f'{x:.2f}' for x in inflation)} × on its overhead (compute_inflation) and "
           f"{' '.join(f'{x:.2f}' for x in sample_inflation)} × on its per-sample part (sample_inflation) its time "
           "beside its server alone")
        if len(m.interleaved) > 1 else
        "no process but the learner and its server on this node: no compute inflation measured",
        f"one process pausing after each minibatch beside {m.cold_beside} computing back to back, idle "
        f"{' '.join(f'{i * 1e3:.3g}' for i, _ in m.cold)} ms before each compute: CPU per minibatch "
        f"{' '.join(f'{c * 1e3:.3g}' for _, c in m.cold)} ms, so a compute after "
        f"{' '.join(f'{i * 1e3:.3g}' for i in cold_idle)} ms idle costs "
        f"{' '.join(f'{c * 1e3:.3g}' for c in cold_seconds)} ms more than one after the first "
        "(cold_idle, cold_seconds: others refilled its caches meanwhile)",
        f"gloo on 127.0.0.1: header-only round trip {rtt * 1e3:.3g} ms, {bandwidth / 1e9:.3g} GB/s one way; "
        f"server CPU per message received {m.recv_seconds * 1e3:.3g} ms, sent {m.send_seconds * 1e3:.3g} ms, "
        f"per update {m.update_seconds * 1e3:.3g} ms + bytes ÷ {m.memory_bandwidth / 1e9:.3g} GB/s",
        *([f"a real server's CPU per gradient with one learner and with two in hardsync (updates per gradient), "
           f"{len(m.update_pairs)} pairs in turn: " + ", ".join(f"{c1 * 1e3:.3g} ({u1:.2g}) / {c2 * 1e3:.3g} ({u2:.2g})"
                                                               for (c1, u1), (c2, u2) in m.update_pairs)
           + f" ms, so an update costs it {update * 1e3:.3g} ms, {(update - step) * 1e3:.3g} ms beyond its step "
           "(update_seconds holds it)"] if m.update_pairs else []),
        f"a real server's CPU per gradient: {m.alone_server_cpu * 1e3:.3g} ms, so {bookkeeping * 1e3:.3g} ms more "
        f"per gradient received (push_seconds); a real learner's: {m.alone_learner_cpu * 1e3:.3g} "
        f"ms, {exchange * 1e3:.3g} ms besides its compute (exchange_seconds); {100 * overlap:.0f} % of both "
        "overlapped the other process's work (offpath_seconds, server_offpath_seconds: core time only)"
        + (f"; beside {m.crowd} process{'es' * (m.crowd > 1)} computing, its CPU per gradient besides its "
           f"computes was {one_shard * 1e3:.3g} ms with one shard and {sharded * 1e3:.3g} ms with {m.shards} "
           f"(means of {len(m.shard_pairs)} pairs, one then the other: "
           f"{', '.join(f'{o * 1e3:.3g}/{x * 1e3:.3g}' for o, x in m.shard_pairs)} ms), "
           f"so {per_shard * 1e3:.3g} ms more for each shard beyond the first once the simulator's "
           f"×{crowded_node:.3g} for that node is taken off (exchange_shard_seconds)" if m.shards > 1 else ""),
        f"a real learner's gap from push to its next compute ({shard_bytes} bytes each way): {gap * 1e3:.3g} ms, "
        f"so {latency * 1e3:.3g} ms per message besides both processes' CPU (latency); its first compute began "
        f"{m.alone_first * 1e3:.3g} ms into the run, so {startup * 1e3:.3g} ms of start-up (startup_seconds); its "
        f"first gradients took {warmup * 1e3:.3g} ms more than steady ones: {server_warmup * 1e3:.3g} ms of it the "
        f"server's first update (server_warmup_seconds), the rest the learner's (warmup_seconds)",
        (f"its gradients up to {', '.join(map(str, ramp_until))} took {' '.join(f'{w * 1e3:.3g}' for w in ramp)} ms "
         f"longer each than from gradient {ramp_until[-1]} on, where a compute took {in_loop * 1e3:.4g} ms and the gap "
         f"after it {gap * 1e3:.3g} ms"
         + (f"; at μ = {m.wide_minibatch}, {' '.join(f'{w * 1e3:.3g}' for w in wide_ramp)} ms" if wide_ramp else "")
         + " (ramp_until, ramp_seconds" + (", ramp_sample_seconds: linear in μ" if wide_ramp else "")
         + ": a fresh process is not at speed; the simulator's learner waits that long before each such compute, "
         "holding no core)" if ramp_until else "too few gradients timed to see a ramp"),
        f"that gap beside j = 1..{len(m.busy_gaps)} processes (pausing a gap after each minibatch while j < cores): "
        f"{' '.join(f'{g * 1e3:.3g}' for g in m.busy_gaps)} ms, computing "
        f"{' '.join(f'{100 * d:.0f}' for d in m.busy_duty)} % of the time, so a message that finds its core busy waits "
        f"{' '.join(f'{w * 1e3:.3g}' for w in wakeup)} ms for it (wakeup: the simulator's mean wait once every core "
        "is busy, and a preempted compute's mean hold; while a core is idle, the wait is the rest of a burst); "
        "its computes then took, as a multiple of "
        f"their median alone, median {' '.join(f'{q[0]:.2f}' for q in held)} and p90 "
        f"{' '.join(f'{q[1]:.2f}' for q in held)} (the simulator: their time alone, now and then a hold "
        "of their core of mean wakeup)" if m.busy_gaps else
        "no other process shares this node in the run: no wakeup delays measured",
        (f"the kernel's scheduler ticks every {m.tick * 1e3:.3g} ms (its CONFIG_HZ): while a core is idle, a woken "
         "thread queued behind a busy one waits until that one's burst ends or its core's next tick, when the "
         "balancer moves it (tick_seconds)" if m.tick else
         "the kernel's build config (CONFIG_HZ) is not readable here: a woken thread queued behind a busy one "
         "waits until that one's burst ends (no tick_seconds)"),
        f"its CPU per gradient besides its computes, beside its server alone {m.alone_exchange * 1e3:.3g} ms and "
        f"beside those j processes {' '.join(f'{x * 1e3:.3g}' for x in m.busy_exchange)} ms"
        + crowd_note + ", so its exchange on a "
        f"node of n = 2..{len(exchange_inflation) + 1} processes costs "
        f"{' '.join(f'{x:.2f}' for x in exchange_inflation)} × its time alone, and beyond as at the last, where "
        f"the processes beside fill the {m.cpus} cores (exchange_inflation)" if len(exchange_inflation) > 1 else
        "no exchange inflation measured (no process beside the learner and its server, or no exchange CPU)",
        "Use: rudra simulate EXP.toml --profile THIS.toml, or [cluster] profile = \"THIS.toml\" in EXP.toml.",
    ]
    return cluster, lines


def cold_law(cold: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """(cold_idle, cold_seconds) from (mean idle before a compute, its mean CPU) pairs, the first at the alone
    gap: what a compute costs beyond one after that gap, after each longer idle. Noise must not make a longer
    idle cheaper, nor an idle measured shorter than the one before count as a point of the law."""
    (idle0, cpu0), *rest = cold
    points = [(idle0, 0.0)]
    for idle, cpu in rest:
        if idle > points[-1][0]:
            points.append((idle, max(cpu - cpu0, points[-1][1])))
    return [_sig(idle) for idle, _ in points], [_sig(extra) for _, extra in points]


def _levels(levels: list[float]) -> str:
    """The pooled readings' own spread, for a profile's line: how far one reading alone could have been off."""
    if len(levels) < 2:
        return ""
    return f" (the mean of {len(levels)} readings in turn, {min(levels) * 1e3:.4g}-{max(levels) * 1e3:.4g} ms)"


def drift_line(m, mu: int) -> str:
    """How much the machine's speed changed between the first and the last measurement: the same minibatch
    alone at both ends. A profile is only as good as the machine held still while it was measured."""
    start, end = float(np.mean(m.compute[mu])), float(np.mean(m.compute_end))
    change = end / start - 1
    return (f"the machine while measuring: a minibatch at μ = {mu} alone took {start * 1e3:.4g} ms at the start and "
            f"{end * 1e3:.4g} ms at the end ({100 * change:+.0f} %)"
            + (f"; that is more than {100 * DRIFT:.0f} %: the machine changed while it was measured, so this profile "
               "may not predict it; calibrate again when it is quieter" if abs(change) > DRIFT else ""))


def _sig(v):
    """Floats to 4 significant digits (measurements are not more precise); other values as they are."""
    return float(f"{v:.4g}") if isinstance(v, float) else v


def write_profile(path: Path, cluster: dict, lines: list[str]) -> None:
    """The profile TOML: comment lines, then the [cluster] table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"# {line}\n" for line in lines) + tomli_w.dumps({"cluster": cluster}))


def calibrate(exp: Experiment, out: Path, *, quick: bool, step: Callable[[str], None]) -> list[str]:
    """Measure this machine for `exp`, write its profile to `out`; returns the profile's description lines."""
    from rudra.runtime.calibrate import Target, measure  # torch loads only here
    target = Target(model=exp.model, data=exp.data, runtime=exp.runtime, train=exp.train,
                    shards=exp.protocol.shards, processes=exp.protocol.learners + exp.protocol.shards,
                    seed=exp.experiment.seed, seconds=QUICK_SECONDS if quick else SECONDS)
    cluster, lines = profile(exp, measure(target, step))
    write_profile(out, cluster, lines)
    return lines
