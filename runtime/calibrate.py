"""Measures this machine for the simulator's cluster model (`rudra calibrate`).

Each measurement runs the runtime's own pieces, in processes of their own
started like a local run's (forkserver, the configured torch threads, gloo on
127.0.0.1), so it times what a real run would do:

  compute   the learner's gradient (runtime.compute.Worker) on the configured
            model and data, at several minibatch sizes μ taking turns;
  alone     one real learner and its server (runtime.launch.train, async, a
            few hundred gradients, with the run's μ and optimizer: the
            weights' values change what a compute costs, and the small cnn's
            minibatch took 0.80 ms with lr 0.1, momentum 0.9 but 0.89-1.0 ms
            with the run's 0.02 and 0.5): each compute as a learner that waits for
            weights between minibatches sees it, each gap from a compute's
            end to the next one's start (push, server, weights back), and the
            CPU seconds per gradient of the server and of the learner (run.json,
            and of the learner's the part its computes did not take: its
            exchange), how long after the run's start its first compute began,
            and how much longer its first WARMUP gradients took than steady ones;
            then that learner again at the compute law's largest μ: its
            computes and gaps (a real learner's compute costs more than the
            law's at large μ, by as much as varies between runs minutes apart,
            and its first gradients are slower for longer). Both ALONE_READINGS
            times in turn, pooled: this machine's speed moves ±30 % over
            spells of a second or so (the cnn's compute at μ = 8 pinned to one
            core, half a second at a time, read 0.85-1.7 ms within 15 s, on
            either core), one such reading lasts about a second, and three
            calibrations minutes apart read the real learner at 1.83, 1.47 and
            1.24 ms and predicted every λ = 1 and 2 point 25-34 % apart;
  sharing   the run's process count of such processes, k = 1 … all of them
            computing back to back at a time, in turns as below: the
            slowdown of each compute;
  interleaved  the run's process count of such processes, n = 2 … all
            of them computing at a time, each pausing one gap after each
            minibatch as a learner waits for its weights: the CPU seconds of
            each compute, at the run's μ and at the law's largest (a larger
            working set suffers more), and its idle since the process's
            previous compute ended (its pause and its waits for a core: the
            cold cost of that idle is in these readings). A compute that
            finds caches others have filled costs more CPU: cnn μ = 32 here
            1.71 ms at n = 2, 1.85 at 4, 2.24 at 6 (+31 %) in one reading,
            while computing back to back they are slowed at most 9 % beyond
            sharing's k / cores. The settings
            (n, μ) take turns in windows of ROUND_SECONDS (longer where
            ROUND_COMPUTES minibatches at the most crowded take longer), the
            same processes throughout, and each reading is the median over
            the rounds: this machine's speed drifts over seconds (other
            guests), and measured one setting after the other, a slow spell
            over one of them set that n's factor alone (a cnn calibration
            read 0.93, 1.19, 1.47, 1.38, 1.43 ms at n = 2 … 6, so 1.58 at
            n = 4, while the real runs after it paid 1.05-1.4× at λ = 4);
  cold      one such process pausing the alone gap, then 1, 2, 4, 8 and 16
            ms, after each minibatch, while the run's other processes, at
            most one per core, compute back to back (on a machine of more
            cores than the run has processes, its cores idle as the run's
            would): the CPU seconds of a compute after each idle time. A
            compute after a long idle finds its caches refilled by the others
            and costs more, by about as many seconds whatever μ (the cnn's
            extra after 4 and 16 ms idle was the same at μ = 8 and 32). The
            pauses take turns as the interleaved settings do: one after the
            other, the cnn's extra after 8 ms read 0.03-0.30 ms in four
            readings on a quiet machine, in turns 0.05-0.09 ms.
            Beside busy processes, as in a run of more processes than cores:
            alone, an idle core itself slows down, and the mlp's compute cost
            5 times more after 8 ms (0.12 → 0.6 ms), a real run's 1.2 times.
            A learner of a hardsync run at λ = 4 idles 3-6 ms here (the
            cnn; the mlp's 1.6-3.2 ms);
  waking    the real learner and server again beside j = 1 … (process count
            − 2) other processes: how much longer each gap gets (a message's
            receiver waits for a core: the OS lets a woken thread wait up to a
            time slice behind busy ones). While j leaves a core idle they
            behave like learners, a minibatch then a pause of one gap (the OS
            treats a process that sleeps often unlike one that never does:
            beside one such process a woken thread waits 0.70 ms on average
            for the cnn, steadily; beside one computing back to back 0.1–0.4
            ms, scattered);
            from j = cores on they compute back to back (every core busy);
            and how much more its computes spread then (preemption), and the
            learner's exchange CPU per gradient. Beside one, BESIDE_ONE times,
            each quantity the median: there a gap's growth is divided by the
            chance, about 0.1-0.3, that the one finds its core busy, so one
            slow spell goes far (a cnn calibration's single run read a gap of
            0.97 ms and an exchange of 0.35 ms where two others read 0.60-0.68
            and 0.24-0.26, and put its λ = 2 points 11-28 % slow);
  exchange  the real learner's exchange CPU per gradient again, PACED
            times, beside j = cores processes (fewer if the run has fewer
            others) that each pause one gap after each minibatch, as a run's
            learners do: beside processes computing back to back it inflates
            far more than a run's (the cnn's 0.68 ms alone read 1.72 ms beside
            2 such, 1.96 ms in the shard pairs, while its λ = 4 runs spent
            1.04 ms);
  shards    with the run's S > 1 shards (adv), the real learner with one
            shard and then with S, SHARD_PAIRS times in turn, beside those
            paced processes: its exchange CPU per gradient with S against
            with one, pair by pair. One reading of either spreads by
            0.1-0.4 ms there (the cnn's one-shard 0.33-1.06 ms), as much as the
            difference itself. Its extra
            shards cost far more in company than alone: gloo's thread for
            the messages took 0.07 ms per gradient alone with one shard or two,
            but 0.22 ms with two beside 2 busy processes, as in a real λ = 4 run
            (0.23-0.35 ms, against 0.08-0.13 ms with one shard; the mlp at μ = 8);
  tick      the kernel's scheduler tick, 1 / CONFIG_HZ, read from its build
            config (/proc/config.gz, /boot/config-RELEASE) where one is
            readable (a kernel constant: nothing to time);
  link      two gloo processes: header-only round trips, and a stream of large
            frames one way (bytes/s);
  server    the shard server's side of that pair: CPU seconds per header-only
            message received through the server's Inbox and per message sent;
            per update, the server's SGD step (models.step.Sgd) over the shard at
            two sizes (a fixed part plus bytes ÷ memory bandwidth), and how much
            longer the process's first step took (its state, lazy init);
  updates   the server's CPU per gradient in a real hardsync run of one
            learner (an update per gradient) and of two (one per two), each
            pair in turn UPDATE_PAIRS times: what an update costs the real
            server, its step and all else it does per update (the trace, the
            protocol's bookkeeping), against what it costs per gradient. The
            step timed alone is 0.06-0.1 ms for the mlp, while across 18 real
            runs of the mlp (λ = 1, 2, 4, three protocols) shard 0's CPU per
            gradient fit 0.32 ms + 0.37 ms × updates per gradient (rms 0.06
            ms), and not the times its loop slept for a message (rms 0.12).

Results are plain numbers; rudra/calibrate.py turns them into a [cluster]
profile. Nothing here reads the experiment file.
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from multiprocessing.connection import wait as wait_any
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rudra.models import load_dataset
from rudra.models.size import spec_parameter_count, train_samples
from rudra.models.spec import DataSpec, ModelSpec
from rudra.models.step import Sgd, flat_model
from rudra.protocol import ProtocolSpec, TrainSpec

from .compute import Worker, stream_at
from .errors import LaunchError, first_line
from .inbox import Inbox
from .launch import train
from .local import loopback_store, use_loopback
from .spec import RuntimeSpec
from .versions import cpu_ticks, stolen
from .wire import BYE, PUSH, WEIGHTS, Message

CHILD_SECONDS = 300.0     # a measuring process that has not answered by then is stuck
WARMUP = 5                # gradients computed before timing (allocator, caches, lazy init)
STREAM_BYTES = 4 << 20    # frames of the bandwidth stream are at least this large
ALONE_READINGS = 4        # the real learner at μ and at 4μ, in turn, pooled (module docstring: alone): one reading's
                          # mean compute spread 1.14-1.66 ms over five readings a minute (the cnn at μ = 8)
BESIDE_ONE = 3            # readings beside one busy process, each quantity their median (module docstring: waking)
PACED = 3                 # readings of the exchange beside `crowd` paced processes (module docstring: exchange)
UPDATE_PAIRS = 3          # one learner and two in hardsync, in turn: one run's server CPU per gradient read
                          # 0.60-0.81 ms over six λ = 1 runs of the mlp, more than the difference it is to show
SHARD_PAIRS = 3           # the learner with one shard and with the run's, in turn: beside 2 busy processes one
                          # pair's difference read 0.01-0.35 ms for the mlp, where its real λ = 4 runs pay 0.2
COLD_PAUSES = (0.001, 0.002, 0.004, 0.008, 0.016)  # idle times the cost of a cold compute is measured at
ROUND_SECONDS = 0.1       # the shortest window of a measurement in turns (module docstring: interleaved)
ROUND_COMPUTES = 5        # and one long enough for each process to compute this many minibatches at the most crowded
PAUSE = 0.0005            # a learner waits for weights between minibatches; a compute after a wait is slower than
                          # back to back (caches, a waking core): digits mlp μ = 8, 0.18 → 0.27 ms here


@dataclass(frozen=True)
class Target:
    """What to measure: the run's model, data and launch settings, its μ and optimizer, its number of processes."""

    model: ModelSpec
    data: DataSpec
    runtime: RuntimeSpec
    train: TrainSpec   # the run's μ and optimizer: its weights' values change what a compute costs
    shards: int
    processes: int   # learners + shards: how many share this node in a local run
    seed: int
    seconds: float   # length of each timing window

    @property
    def minibatch(self) -> int:
        """The run's μ."""
        return self.train.minibatch

    def minibatches(self) -> list[int]:
        """The μ the compute law is fitted over: μ/4 … 4μ (at least 1), five points when μ allows."""
        mu = self.minibatch
        return sorted({max(1, round(mu * f)) for f in (0.25, 0.5, 1.0, 2.0, 4.0)})


@dataclass(frozen=True)
class Measured:
    """Everything `measure` found, in seconds, bytes and bytes/s."""

    compute: dict[int, list[float]]   # μ -> seconds of each timed minibatch (one process alone)
    slowdown: list[float]             # k = 1, 2, …: mean compute time with k processes busy ÷ alone
    interleaved: list[float]          # n = 2, 3, …: CPU seconds of a compute with n processes computing and pausing
    interleaved_wide: list[float]     # the same at wide_minibatch
    interleaved_idle: list[float]     # n = 2, 3, …: seconds from a compute's end to the next one's start then (the
                                      # pause and the waits for a core)
    interleaved_wide_idle: list[float]  # the same at wide_minibatch
    rtts: list[float]                 # seconds of each header-only round trip between two processes
    frames: list[float]               # seconds of each large frame of a one-way stream
    frame_bytes: int                  # bytes of one such frame
    recv_seconds: float               # server CPU per header-only message received (Inbox, header read)
    send_seconds: float               # server CPU per header-only message sent
    update_seconds: float             # fixed part of one SGD update
    server_warmup: float              # the first SGD update's seconds beyond a steady one (its state, lazy init)
    memory_bandwidth: float           # shard bytes per second of SGD update beyond the fixed part
    alone_compute: list[float]        # seconds of each compute of one real learner with its server, from gradient
                                      # alone_from on (its first ones are its warm-up), the mean over readings
    alone_from: int                   # that gradient: WARMUP
    alone_jitter: list[float]         # the second half of each reading's computes, over that half's mean
    alone_levels: list[float]         # each reading's mean compute (they are pooled: ALONE_READINGS)
    wide_levels: list[float]          # the same at wide_minibatch
    wide_minibatch: int               # the compute law's largest μ
    wide_compute: list[float]         # that learner's computes at wide_minibatch, from gradient alone_from on
    wide_gaps: list[float]            # and its gaps then
    alone_gaps: list[float]           # seconds from each of its computes' end to the next one's start
    alone_server_cpu: float           # its server's CPU seconds per gradient (everything it does for one)
    alone_learner_cpu: float          # its CPU seconds per gradient, compute included
    alone_exchange: float             # of that, what its computes did not take (run.json's learners_compute)
    alone_first: float                # seconds from the run's start to its first compute's start
    alone_warmup: float               # seconds its first WARMUP gradients took beyond as many steady ones
    crowd: int                        # how many paced processes the exchange and the run's shards are measured beside
    paced_exchange: list[float]       # the learner's exchange CPU per gradient beside those, PACED times (none where
                                      # crowd < cores: busy_exchange's reading there is paced already)
    shard_pairs: list[tuple[float, float]]  # and with one shard and then with the run's shards, SHARD_PAIRS times
                                      # (one shard: none)
    shards: int                       # the run's server shards
    busy_gaps: list[float]            # j = 1, 2, …: mean gap of that learner with j processes computing beside
    busy_exchange: list[float]        # j = 1, 2, …: its exchange CPU per gradient then
    busy_computes: list[list[float]]  # j = 1, 2, …: seconds of each of its computes then
    busy_duty: list[float]            # j = 1, 2, …: the fraction of the time those j processes were computing
    shard_bytes: int                  # bytes of the largest shard (one message)
    update_pairs: list[tuple[tuple[float, float], tuple[float, float]]]  # (server CPU seconds per gradient,
                                      # updates per gradient) with one learner and with two, UPDATE_PAIRS times
    cpus: int                         # cores this process may run on
    load: float                       # the 1-minute load average when measuring began
    stolen: float | None              # the share of the machine's CPU time a hypervisor took meanwhile (None: not
                                      # counted here)
    compute_end: list[float]          # seconds of each minibatch at the run's μ, alone again at the very end
    cold: list[tuple[float, float]]   # (mean idle before a compute, its mean CPU seconds): one process pausing
                                      # the alone gap, then each of COLD_PAUSES beyond it, after each minibatch
    cold_beside: int                  # processes computing back to back meanwhile
    tick: float | None = None         # seconds between the kernel's scheduler ticks; None where unreadable


def scheduler_tick(configs: tuple[str, ...] = ("/proc/config.gz", f"/boot/config-{os.uname().release}")
                   ) -> float | None:
    """Seconds between the kernel's scheduler ticks (1 / CONFIG_HZ) from the first readable build config among
    `configs` (gzipped where named .gz), or None where none says."""
    for path in configs:
        try:
            with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
                hz = next((line.split("=", 1)[1] for line in f if line.startswith("CONFIG_HZ=")), None)
            if hz is not None and int(hz) > 0:
                return 1.0 / int(hz)
        except (OSError, ValueError, EOFError):
            continue
    return None


def cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def measure(target: Target, step: Callable[[str], None]) -> Measured:
    """Run every measurement; `step(what)` is called before each (progress)."""
    load, ticks = os.getloadavg()[0], cpu_ticks()
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["rudra.runtime.calibrate"])
    step(f"compute at μ = {', '.join(map(str, target.minibatches()))}")
    compute = _gather(ctx, _compute_child, [(target, target.minibatches())])[0]
    step(f"k = 1..{target.processes} processes computing back to back on {cores()} cores, in turns")
    back_to_back = _in_turns(ctx, target, turns(range(1, target.processes + 1), [target.minibatch]), 0.0,
                             float(np.median(compute[target.minibatch])))
    alone_wall = back_to_back[1, target.minibatch][1]
    slowdown = [back_to_back[k, target.minibatch][1] / alone_wall for k in range(1, target.processes + 1)]
    step("gloo link and server costs")
    link = _link(ctx, target)
    wide = target.minibatches()[-1]  # 4μ
    step(f"one learner and its server, for real, at μ = {target.minibatch} and {wide}, {ALONE_READINGS} times in turn")
    readings = [(_alone(target), _alone(replace(target, train=replace(target.train, minibatch=wide))))
                for _ in range(ALONE_READINGS)]
    alone, wide_run = pooled([at_mu for at_mu, _ in readings]), pooled([at_wide for _, at_wide in readings])
    step(f"the server's CPU with one learner and with two in hardsync, {UPDATE_PAIRS} times in turn")
    update_pairs = [tuple(_server_cpu(target, n) for n in (1, 2)) for _ in range(UPDATE_PAIRS)]
    gap = float(np.mean(alone["alone_gaps"]))
    step(f"n = 2..{target.processes} processes computing at μ = {target.minibatch} and {wide} and pausing on "
         f"{cores()} cores, in turns")
    readings = _in_turns(ctx, target, turns(range(2, target.processes + 1), [target.minibatch, wide]), gap,
                         float(np.median(compute[wide])))
    interleaved = [readings[n, target.minibatch][0] for n in range(2, target.processes + 1)]
    interleaved_wide = [readings[n, wide][0] for n in range(2, target.processes + 1)]
    interleaved_idle = [readings[n, target.minibatch][2] for n in range(2, target.processes + 1)]
    interleaved_wide_idle = [readings[n, wide][2] for n in range(2, target.processes + 1)]
    pauses = [gap] + [p for p in COLD_PAUSES if p > gap]
    others = max(1, min(cores(), target.processes - 1))  # as busy as the run's other processes keep the cores
    step(f"one process pausing {', '.join(f'{p * 1e3:.3g}' for p in pauses)} ms between minibatches beside "
         f"{others} computing")
    cold = _among_busy(ctx, target, others, 0.0,
                       lambda ready: _gather(ctx, _paced_child, [(target, ready, pauses)])[0])[0]
    busy_gaps, busy_duty, busy_computes, busy_exchange = [], [], [], []
    for j in range(1, target.processes - 1):
        times = BESIDE_ONE if j == 1 else 1
        step(f"one learner and its server beside {j} process{'es' * (j > 1)} computing"
             + (" and pausing" if j < cores() else "") + (f", {times} times" if times > 1 else ""))
        beside_gap, computes, exchange, duty = median_reading(
            [_beside(ctx, target, j, _pause(j, gap)) for _ in range(times)])
        busy_gaps.append(beside_gap)
        busy_computes.append(computes)
        busy_exchange.append(exchange)
        busy_duty.append(duty)
    # a learner's exchange beside processes paced as the run's learners are, and with more shards against one,
    # each pair in turn (module docstring: exchange, shards)
    crowd, paced, pairs = max(1, min(cores(), target.processes - 2)), [], []
    if crowd >= cores():
        step(f"one learner and its server beside {crowd} processes computing and pausing, {PACED} times")
        paced = [_beside(ctx, target, crowd, gap)[0]["alone_exchange"] for _ in range(PACED)]
    if target.shards > 1:
        step(f"one learner with 1 and {target.shards} server shards, {SHARD_PAIRS} times, beside {crowd} "
             f"process{'es' * (crowd > 1)} computing and pausing")
        for _ in range(SHARD_PAIRS):
            pairs.append(tuple(_beside(ctx, target, crowd, gap, shards)[0]["alone_exchange"]
                               for shards in (1, target.shards)))
    step(f"compute at μ = {target.minibatch} again: did the machine change while it was measured?")
    compute_end = _gather(ctx, _compute_child, [(target, [target.minibatch])])[0][target.minibatch]
    return Measured(compute=compute, slowdown=slowdown, interleaved=interleaved,
                    interleaved_wide=interleaved_wide, interleaved_idle=interleaved_idle,
                    interleaved_wide_idle=interleaved_wide_idle, cpus=cores(), load=load, tick=scheduler_tick(),
                    stolen=stolen(ticks, cpu_ticks()), update_pairs=update_pairs,
                    busy_gaps=busy_gaps, compute_end=compute_end, busy_duty=busy_duty, busy_exchange=busy_exchange,
                    busy_computes=busy_computes, cold=cold, cold_beside=others, crowd=crowd, paced_exchange=paced,
                    shard_pairs=pairs,
                    shards=target.shards, wide_minibatch=wide, wide_compute=wide_run["alone_compute"],
                    wide_gaps=wide_run["alone_gaps"], wide_levels=wide_run["alone_levels"], **alone, **link)


# --- running children -------------------------------------------------------------------------------------

def _gather(ctx, target_fn, arglist: list[tuple]) -> list:
    """Run target_fn(*args, conn) in one process per args, all at once; their answers in order."""
    pipes = [ctx.Pipe(duplex=False) for _ in arglist]
    procs = [ctx.Process(target=target_fn, args=(*args, w), daemon=True) for args, (_, w) in zip(arglist, pipes)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + CHILD_SECONDS
    answers = []
    try:
        for (reader, _), p in zip(pipes, procs):
            wait_any([reader, p.sentinel], max(0.0, deadline - time.monotonic()))
            if not reader.poll():
                raise LaunchError("calibrate: a measuring process " + (
                    f"died (exit code {p.exitcode})" if p.exitcode is not None
                    else f"gave no answer within {CHILD_SECONDS:g} s"))
            answer = reader.recv()
            if isinstance(answer, str):
                raise LaunchError(f"calibrate: {answer}")
            answers.append(answer)
    finally:
        for p in procs:
            p.join(5.0)
            if p.exitcode is None:
                p.kill()
                p.join(5.0)
    return answers


def _answer(conn, fn, *args) -> None:
    """A child's body: send fn(*args) (or its one-line failure) down the pipe, then exit at once."""
    try:
        conn.send(fn(*args))
    except BaseException as error:  # the parent reports it as one line
        conn.send(f"{type(error).__name__}: {first_line(error)}")
    os._exit(0)  # a gloo receive may still be pending in a thread


# --- compute ----------------------------------------------------------------------------------------------

def _worker(target: Target) -> tuple[Worker, Callable[[int], object]]:
    """A learner's Worker on the target's model and data, with its torch threads, and its minibatch stream at μ."""
    torch.set_num_threads(target.runtime.threads)
    data = load_dataset(target.data, target.seed)
    net = flat_model(target.model, data.input_shape, data.classes, target.seed, torch.device(target.runtime.device))
    n = len(data.train_y)
    return Worker(net, data.train_x, data.train_y), lambda mu: stream_at(n, 0, 1, mu, target.seed,
                                                                         target.data.sampling, 0)


def _compute(target: Target, minibatches: list[int]) -> dict[int, list[float]]:
    """μ -> seconds of each minibatch computed within a timing window per μ, as a learner computes them
    (runtime.compute.Worker on its stream, a PAUSE between minibatches). The μ take turns, one
    minibatch each, so that a slow spell of the machine touches all of them alike: measured one window after
    the other, one such spell over the last windows made the mlp's law 0 ms + 0.0067 ms × μ instead of
    0.114 ms + 0.0005 ms × μ."""
    worker, stream_of = _worker(target)
    streams = {mu: stream_of(mu) for mu in minibatches}
    for stream in streams.values():
        for _ in range(WARMUP):
            worker.gradient(stream.next_indices())
    times = {mu: [] for mu in minibatches}
    end = time.perf_counter() + target.seconds * len(minibatches)
    while time.perf_counter() < end or len(times[minibatches[-1]]) < 3:
        for mu, stream in streams.items():
            t0 = time.perf_counter()
            worker.gradient(stream.next_indices())
            times[mu].append(time.perf_counter() - t0)
            time.sleep(PAUSE)
    return times


def _compute_child(target: Target, minibatches: list[int], conn) -> None:
    _answer(conn, _compute, target, minibatches)


def _paced(target: Target, ready, pauses: list[float]) -> list[tuple[float, float]]:
    """Once every such process is ready (`ready`, a barrier): compute minibatches at the run's μ, each followed by
    a pause of sleep as a learner waits for its weights, the pauses taking turns in windows of ROUND_SECONDS or
    more (target.seconds per pause in all), the first compute of each window untimed (it follows the pause
    before); (mean seconds from a compute's end to the next one's start, mean CPU seconds of a compute) per
    pause: what a compute costs after that long idle, without its waits for a core."""
    worker, stream_of = _worker(target)
    stream = stream_of(target.minibatch)
    for _ in range(WARMUP):
        worker.gradient(stream.next_indices())
    ready.wait(CHILD_SECONDS)
    rounds = max(1, round(target.seconds / ROUND_SECONDS))
    timed = {pause: ([], []) for pause in pauses}  # pause -> (idle before each compute, its CPU seconds)
    ended = None
    for _ in range(rounds):
        for pause in pauses:
            idle, cpu = timed[pause]
            end, counted, first = time.perf_counter() + target.seconds / rounds, False, True
            while time.perf_counter() < end or not counted:
                indices = stream.next_indices()
                start, clock = time.process_time(), time.perf_counter()
                worker.gradient(indices)
                if not first:
                    idle.append(clock - ended)
                    cpu.append(time.process_time() - start)
                    counted = True
                ended, first = time.perf_counter(), False
                time.sleep(pause)
    return [(float(np.mean(timed[pause][0])), float(np.mean(timed[pause][1]))) for pause in pauses]


def _paced_child(target: Target, ready, pauses: list[float], conn) -> None:
    _answer(conn, _paced, target, ready, pauses)


def turns(counts, minibatches: list[int]) -> list[tuple[int, int]]:
    """(n, μ) of each window of a round of a measurement in turns: n of the processes computing, at each μ."""
    return [(n, mu) for n in counts for mu in minibatches]


def _in_turns(ctx, target: Target, settings: list[tuple[int, int]], pause: float,
              longest: float) -> dict[tuple[int, int], tuple[float, ...]]:
    """target.processes processes computing in turns (the module docstring: interleaved), each pausing `pause`
    seconds after each minibatch: (n, μ) -> (CPU seconds, seconds, idle seconds before it) of a compute. A
    window is long enough for ROUND_COMPUTES computes of `longest` seconds alone each at the most crowded; the
    rounds fill target.seconds per setting."""
    window = max(ROUND_SECONDS, ROUND_COMPUTES * (longest + pause) * max(1.0, target.processes / cores()))
    rounds = max(1, round(target.seconds / window))
    start, ready = ctx.Value("d", 0.0), ctx.Barrier(target.processes)
    return turn_readings(_gather(ctx, _in_turns_child, [
        (target, ready, start, index, settings, rounds, window, pause) for index in range(target.processes)]),
        settings)


def turn_readings(answers: list[list[tuple[float, ...]]],
                  settings: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[float, ...]]:
    """(n, μ) -> (CPU seconds, seconds, idle seconds before it) of a compute: each window's means over the
    computes of every process in it, the medians over the windows of that setting (one per round). `answers`:
    each process's (window, CPU seconds, seconds, idle seconds) of each compute."""
    computes: dict[int, list[tuple[float, ...]]] = {}
    for answer in answers:
        for window, *timed in answer:
            computes.setdefault(window, []).append(timed)
    means: dict[tuple[int, int], list[np.ndarray]] = {}
    for window, timed in computes.items():
        means.setdefault(settings[window % len(settings)], []).append(np.mean(timed, axis=0))
    missing = [s for s in settings if s not in means]
    if missing:
        raise LaunchError(f"calibrate: no compute was timed with (processes, μ) = {missing[0]}: the machine is "
                          "too slow for windows of this length")
    return {setting: tuple(float(x) for x in np.median(means[setting], axis=0)) for setting in settings}


def _turn(target: Target, ready, start, index: int, settings: list[tuple[int, int]], rounds: int,
          seconds: float, pause: float) -> list[tuple[int, float, float]]:
    """Process `index` of a measurement in turns: through `rounds` rounds of windows of `seconds`, one per
    setting (n, μ), from the moment the first process past `ready` sets in `start`, compute minibatches at
    that μ, each followed by `pause` seconds of sleep, while index < n, else sleep the window through; (window,
    CPU seconds, seconds, seconds idle since the previous compute ended: the pause and any wait for a core) of
    each compute but the first in a window (after a sleep or at another μ: a cold one)."""
    worker, stream_of = _worker(target)
    streams = {mu: stream_of(mu) for mu in {mu for _, mu in settings}}
    for stream in streams.values():
        for _ in range(WARMUP):
            worker.gradient(stream.next_indices())
    ready.wait(CHILD_SECONDS)
    with start.get_lock():
        if not start.value:
            start.value = time.monotonic() + seconds / 10  # the others wake within that
        t0 = start.value
    windows, timed, last, ended = rounds * len(settings), [], -1, 0.0
    while (window := int((time.monotonic() - t0) // seconds)) < windows:
        n, mu = settings[window % len(settings)]
        if window < 0 or index >= n:
            time.sleep(max(0.0, t0 + (window + 1) * seconds - time.monotonic()))
            continue
        indices = streams[mu].next_indices()
        cpu, wall = time.process_time(), time.perf_counter()
        worker.gradient(indices)
        if window == last:
            timed.append((window, time.process_time() - cpu, time.perf_counter() - wall, wall - ended))
        last, ended = window, time.perf_counter()
        if pause:
            time.sleep(pause)
    return timed


def _in_turns_child(target: Target, ready, start, index: int, settings: list[tuple[int, int]], rounds: int,
                    seconds: float, pause: float, conn) -> None:
    _answer(conn, _turn, target, ready, start, index, settings, rounds, seconds, pause)


def _busy(target: Target, ready, stop, pause: float) -> float:
    """Once every such process is ready (`ready`, a barrier), compute minibatches, each followed by `pause`
    seconds of sleep, until `stop` is set (at most CHILD_SECONDS); the fraction of that time spent computing."""
    worker, stream_of = _worker(target)
    stream = stream_of(target.minibatch)
    ready.wait(CHILD_SECONDS)
    computing, start = 0.0, time.perf_counter()
    end = start + CHILD_SECONDS
    while not stop.is_set() and time.perf_counter() < end:
        t0 = time.perf_counter()
        worker.gradient(stream.next_indices())
        computing += time.perf_counter() - t0
        if pause:
            time.sleep(pause)
    return computing / (time.perf_counter() - start)


def _busy_child(target: Target, ready, stop, pause: float, conn) -> None:
    _answer(conn, _busy, target, ready, stop, pause)


def _among_busy(ctx, target: Target, busy: int, pause: float, measure: Callable[[object], object]) -> tuple:
    """(measure(ready), the fraction of the time they computed) with `busy` processes computing on this node
    meanwhile, each pausing `pause` seconds after each minibatch; they start once `measure` waits on `ready` too."""
    ready, stop = ctx.Barrier(busy + 1), ctx.Event()
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(_gather, ctx, _busy_child, [(target, ready, stop, pause)] * busy)
        try:
            result = measure(ready)
        finally:
            stop.set()
            duty = float(np.mean(done.result()))
    return result, duty


def median_reading(readings: list[tuple[dict, float]]) -> tuple[float, list[float], float, float]:
    """(mean gap, computes, exchange CPU per gradient, duty) of `_beside` readings of one setting: each number
    the median over the readings, the computes all of them."""
    return (float(np.median([np.mean(beside["alone_gaps"]) for beside, _ in readings])),
            [t for beside, _ in readings for t in beside["alone_compute"]],
            float(np.median([beside["alone_exchange"] for beside, _ in readings])),
            float(np.median([duty for _, duty in readings])))


def _pause(busy: int, gap: float) -> float:
    """How long processes computing beside a real learner pause after each minibatch: a learner's gap while they
    leave a core idle, none once they fill the cores (the module docstring: waking)."""
    return gap if busy < cores() else 0.0


def _beside(ctx, target: Target, busy: int, pause: float, shards: int = 1) -> tuple[dict, float]:
    """_alone with `busy` processes computing on this node meanwhile, each pausing `pause` seconds after each
    minibatch; and the fraction of the time they computed."""
    def alone(ready) -> dict:
        ready.wait(CHILD_SECONDS)
        return _alone(target, shards)
    return _among_busy(ctx, target, busy, pause, alone)


# --- link and server --------------------------------------------------------------------------------------

def _link(ctx, target: Target) -> dict:
    """Both gloo measurements at once: rank 0 plays the server, rank 1 the learner."""
    store = loopback_store(0)
    try:
        server, learner = _gather(ctx, _pair_child, [(target, rank, store.port) for rank in (0, 1)])
    finally:
        del store
    return {**server, **learner}


def _rounds(target: Target, per_second: float) -> int:
    """Repetitions for one timing window at `per_second` of them (a guess both ranks make alike), at least 20."""
    return max(20, int(target.seconds * per_second))


def _pair(target: Target, rank: int, port: int) -> dict:
    """One side of the two-process link and server measurements (see the module docstring)."""
    use_loopback()
    torch.set_num_threads(target.runtime.threads)
    store = dist.TCPStore("127.0.0.1", port, None, False, timedelta(seconds=CHILD_SECONDS))
    dist.init_process_group(target.runtime.backend, store=store, rank=rank, world_size=2,
                            timeout=timedelta(seconds=CHILD_SECONDS))
    peer = 1 - rank
    data = load_dataset(target.data, target.seed)
    floats = -(-spec_parameter_count(target.model, data.input_shape, data.classes) // target.shards)
    big = max(floats, STREAM_BYTES // 4)
    header, shard, stream = Message(0), Message(floats), Message(big)

    def ping(n: int) -> list[float]:
        """Seconds of each header-only round trip (rank 1 asks, rank 0 answers)."""
        dist.barrier()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            if rank:
                dist.send(header.frame(), peer)
                dist.recv(header.buf, peer)
            else:
                dist.recv(header.buf, peer)
                dist.send(header.frame(), peer)
            times.append(time.perf_counter() - start)
        return times

    ping(20)
    rtts = ping(_rounds(target, 5000))
    frames = []
    dist.barrier()
    for _ in range(max(5, int(target.seconds * 2e9 / (4 * big)))):  # ≈ one window at 2 GB/s
        start = time.perf_counter()
        dist.send(stream.frame(big), peer) if rank else dist.recv(stream.buf, peer)
        frames.append(time.perf_counter() - start)
    n = _rounds(target, 5000)
    dist.barrier()
    if rank == 0:
        return _server_side(target, header, shard, floats, peer, n)
    for i in range(n):  # header-only pushes for the server's receive cost
        dist.send(header.set(PUSH, 0, i, i).frame(), peer)
    for _ in range(n):  # the server's sends
        dist.recv(shard.buf, peer)
    dist.send(header.set(BYE).frame(), peer)  # the server may stop
    return {"rtts": rtts, "frames": frames, "frame_bytes": 4 * big}


def _server_side(target: Target, header: Message, shard: Message, floats: int, peer: int, n: int) -> dict:
    """Rank 0: CPU per message received through an Inbox and per message sent, and the SGD update."""
    fixed, per_byte, first = _update_law(target, floats)  # before the learner's messages start
    inbox = Inbox([peer], floats, kept=1, timeout=CHILD_SECONDS)
    cpu = time.process_time()
    for _ in range(n):
        msg = _get(inbox)
        msg.ints()
        inbox.release(msg)
    recv = (time.process_time() - cpu) / n
    cpu = time.process_time()
    for i in range(n):
        dist.send(header.set(WEIGHTS, 0, i, i).frame(), peer)
    send = (time.process_time() - cpu) / n
    _get(inbox)  # the learner's BYE: it is done
    return {"recv_seconds": recv, "send_seconds": send, "update_seconds": fixed, "server_warmup": first,
            "memory_bandwidth": 1.0 / per_byte if per_byte > 0 else float("inf"), "shard_bytes": 4 * floats}


def _pair_child(target: Target, rank: int, port: int, conn) -> None:
    _answer(conn, _pair, target, rank, port)


# --- one learner for real -----------------------------------------------------------------------------------

def _alone(target: Target, shards: int = 1) -> dict:
    """One real learner and its server (async, base; with more shards adv; a few hundred gradients with the
    run's μ and optimizer, no evaluation but the last): the seconds of each compute, of each gap from a
    compute's end to the learner's next compute, and both processes' CPU seconds per gradient (the server's:
    shard 0's)."""
    rows, record = _real(target, ProtocolSpec(name="async", learners=1, shards=shards,
                                              architecture="adv" if shards > 1 else "base"))
    rows = sorted((int(r["step"]), float(r["t_compute_start"]), float(r["t_compute_end"])) for r in rows)
    runtime = record["runtime"]
    cpu, pushes = runtime["cpu_seconds"], runtime["pushes"]["numbered"][0]
    steady = rows[WARMUP:]
    compute = [end - start for _, start, end in steady]
    gaps = [b[1] - a[2] for a, b in zip(steady, steady[1:])]
    return {"alone_compute": compute, "alone_gaps": gaps, "alone_from": WARMUP,
            "alone_server_cpu": cpu["server"] / len(rows), "alone_learner_cpu": cpu["learners"][0] / pushes,
            "alone_exchange": (cpu["learners"][0] - cpu["learners_compute"][0]) / pushes,
            "alone_first": rows[0][1],
            "alone_warmup": steady[0][1] - rows[0][1] - WARMUP * (float(np.mean(compute)) + float(np.mean(gaps)))}


def pooled(readings: list[dict]) -> dict:
    """One `_alone` reading from several of one setting: each list the element-wise mean over the readings
    (gradient i of each, so a ramp stays where it is), each number their mean; `alone_jitter`, the second half of
    each reading's computes over their own mean (the spread within a run, past its ramp, not the machine's drift
    between runs, which moves all of a run's learners alike); `alone_levels`, each reading's mean compute."""
    n = min(len(r["alone_compute"]) for r in readings), min(len(r["alone_gaps"]) for r in readings)
    halves = [r["alone_compute"][len(r["alone_compute"]) // 2:] for r in readings]
    pool = {key: float(np.mean([r[key] for r in readings])) for key in readings[0]
            if key not in ("alone_compute", "alone_gaps", "alone_from")}
    return {**pool, "alone_from": readings[0]["alone_from"],
            "alone_compute": np.mean([r["alone_compute"][:n[0]] for r in readings], axis=0).tolist(),
            "alone_gaps": np.mean([r["alone_gaps"][:n[1]] for r in readings], axis=0).tolist(),
            "alone_jitter": [t / float(np.mean(half)) for half in halves for t in half],
            "alone_levels": [float(np.mean(r["alone_compute"])) for r in readings]}


def _server_cpu(target: Target, learners: int) -> tuple[float, float]:
    """(shard 0's CPU seconds per gradient, updates per gradient) in a real hardsync run of `learners` learners
    (one: an update per gradient; two: one per two) on one shard (module docstring: updates)."""
    rows, record = _real(target, ProtocolSpec(name="hardsync", learners=learners, shards=1))
    return record["runtime"]["cpu_seconds"]["server"] / len(rows), record["updates"] / len(rows)


def _real(target: Target, protocol: ProtocolSpec) -> tuple[list[dict], dict]:
    """A real run of `protocol` with the target's model, data, μ and optimizer, a few hundred gradients, full
    trace, no evaluation but the last: its gradients.csv rows and its run.json."""
    gradients = _rounds(target, 700)
    train_spec = replace(target.train, epochs=gradients * target.minibatch / train_samples(target.data))
    runtime = replace(target.runtime, trace="full", eval_every=1e6, checkpoint_every=0, fault=None,
                      fault_target=0, fault_after=3, server_ranks=(), port=0)
    with tempfile.TemporaryDirectory() as out:
        train(protocol, train_spec, target.model, target.data, runtime,
              seed=target.seed, out=Path(out), config={}, progress=False)
        with open(Path(out) / "gradients.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return rows, json.loads((Path(out) / "run.json").read_text())


def _get(inbox: Inbox):
    item = inbox.get(CHILD_SECONDS)
    if not isinstance(item, Message):
        raise LaunchError(f"the learner side of the link stopped sending ({item})")
    return item


def _update_law(target: Target, floats: int) -> tuple[float, float, float]:
    """(fixed seconds, seconds per shard byte) of one SGD update, from the shard's size and 16 times it, and
    how much longer the process's first update took (a fresh server's first update pays that once)."""
    sizes = (floats, 16 * floats)
    times, firsts = [], []
    for size in sizes:
        sgd = Sgd(torch.zeros(size), momentum=0.9, weight_decay=1e-4)
        g = torch.ones(size)
        start = time.perf_counter()
        sgd.apply([(1.0, g)], 0.01)
        firsts.append(time.perf_counter() - start)
        for _ in range(WARMUP - 1):
            sgd.apply([(1.0, g)], 0.01)
        n = 0
        end = time.perf_counter() + target.seconds / 4
        start = time.perf_counter()
        while time.perf_counter() < end or n < 10:
            sgd.apply([(1.0, g)], 0.01)
            n += 1
        times.append((time.perf_counter() - start) / n)
    per_byte = max(0.0, (times[1] - times[0]) / (4 * (sizes[1] - sizes[0])))
    return max(0.0, times[0] - 4 * floats * per_byte), per_byte, max(0.0, firsts[0] - times[0])
