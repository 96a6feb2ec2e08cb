"""The local launcher: every role of a run as a process on this machine, talking over 127.0.0.1 only.

This process hosts the rendezvous store on a socket it binds to 127.0.0.1
itself (torch's store would listen on every interface), starts S + λ
processes from a forkserver (torch is imported once, not once per process)
and supervises them until the servers are done:

  * a server that exits with an error ends the run with its one-line reason;
  * a server that shows no sign of life (a heartbeat from its message loop)
    for runtime.timeout (stopped, deadlocked) is named and the run ends,
    before its learners' own 2 × timeout patience runs out;
  * SIGINT or SIGTERM here ends the run at once;
  * if this process dies, even by SIGKILL, every child's lifeline pipe closes
    and the child exits: nothing of the run outlives its launcher.

Whatever ended a run early, the run directory is then salvaged: the trace cut
back to whole updates and run.json saying how the run ended (salvage.py).
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from datetime import timedelta
from multiprocessing.connection import wait as wait_any

import torch.distributed as dist
import torch.multiprocessing as mp

from rudra.protocol import read_run_json

from . import salvage
from .errors import Interrupted, LaunchError, first_line
from .plan import Plan
from .processes import name_this_process
from .rank import RENDEZVOUS_SECONDS, run_rank

EXIT_GRACE = 5.0  # seconds learners get to exit after their server is done


def run_local(plan: Plan) -> dict:
    """Spawn every role on this machine, supervise them, return the run.json shard 0 wrote."""
    store = loopback_store(plan.runtime.port)
    ctx = mp.get_context("forkserver")  # one process imports torch, the children fork from it: fast starts
    ctx.set_forkserver_preload(["rudra.runtime.local", "rudra.models.dataset"])
    world = plan.layout.world
    beats = ctx.Array("d", world, lock=False)  # time.monotonic() of each server's last heartbeat (0: none yet)
    lifeline, keep_alive = ctx.Pipe(duplex=False)  # only this process holds the writing end
    pipes = {rank: ctx.Pipe(duplex=False) for rank in range(world)}  # (reader, writer): a failure's one line
    procs = {rank: ctx.Process(target=_child, args=(plan, rank, store.port, pipes[rank][1], beats, lifeline),
                               daemon=True) for rank in range(world)}
    failed = hung = None
    with _InterruptOnSignals():
        try:
            for p in procs.values():
                p.start()
            failed, hung = _supervise(plan, procs, beats)
        except Interrupted as stop:
            _reap(procs, 0.0)
            salvage.settle(plan, "interrupted", f"interrupted by {stop.name}")
            raise
        finally:
            _reap(procs, 0.0 if hung else EXIT_GRACE if failed is None else plan.wait + EXIT_GRACE)
            keep_alive.close()
            del store
    if failed is None:
        return read_run_json(plan.out)
    reasons = {rank: reader.recv() for rank, (reader, _) in pipes.items() if reader.poll()}
    why = hung or _failure(plan, failed, procs[failed].exitcode, reasons)
    salvage.settle(plan, "failed", why)
    raise LaunchError(why)


def loopback_store(port: int) -> dist.TCPStore:
    """The rendezvous store, served from this process on a socket bound to 127.0.0.1:`port` (0: a free one)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise LaunchError(f"runtime.port = {port}: port {port} on 127.0.0.1 is in use (0 picks a free one)") from None
    store = dist.TCPStore("127.0.0.1", listener.getsockname()[1], None, True, timedelta(seconds=RENDEZVOUS_SECONDS),
                          wait_for_workers=False, master_listen_fd=listener.fileno())
    listener.detach()  # the store owns the socket now and closes it
    return store


def use_loopback() -> None:
    """Make gloo in this process bind to the loopback interface only (a local run talks over 127.0.0.1)."""
    loopback = next((name for _, name in socket.if_nameindex() if name in ("lo", "lo0")), None)
    if loopback is not None:
        os.environ["GLOO_SOCKET_IFNAME"] = loopback


class _InterruptOnSignals:
    """While inside: SIGINT and SIGTERM raise Interrupted in this (main) thread, once; a second signal during the
    clean-up is ignored so that the clean-up finishes. Outside the main thread (a sweep's worker) nothing changes."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.saved = None
        if threading.current_thread() is threading.main_thread():
            self.saved = {s: signal.signal(s, self._raise) for s in self.SIGNALS}
        return self

    def _raise(self, signum, frame):
        for s in self.SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    def __exit__(self, *exc):
        for s, handler in (self.saved or {}).items():
            signal.signal(s, handler)


def _child(plan: Plan, rank: int, port: int, report, beats, lifeline) -> None:
    """A spawned process: connect to the local store, play the rank's role, report a failure in one line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the launcher decides what an interrupt ends, and ends this
    name_this_process(*plan.layout.role(rank))
    threading.Thread(target=_exit_with_launcher, args=(lifeline,), daemon=True).start()
    use_loopback()
    code = 0
    try:
        store = dist.TCPStore("127.0.0.1", port, None, False, timedelta(seconds=RENDEZVOUS_SECONDS))
        run_rank(plan, rank, store, alive=lambda: beats.__setitem__(rank, time.monotonic()))
    except BaseException as error:
        report.send(str(error) if isinstance(error, LaunchError) else
                    f"{plan.layout.name(rank)}: {type(error).__name__}: {first_line(error)}")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: a receive may still be pending in a gloo thread


def _exit_with_launcher(lifeline) -> None:
    """Block until the launcher's end of the lifeline closes (it exited or died), then exit at once."""
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)


def _supervise(plan: Plan, procs: dict, beats) -> tuple[int | None, str | None]:
    """Wait for the servers: (None, None) when all finished, else (rank, None) of the first server that failed
    or (rank, why) of the first that hangs."""
    servers = plan.layout.servers
    # A server silent for runtime.timeout hangs, as a learner silent that long is gone. Its learners would give up
    # at twice that; this leaves the launcher time to settle the run and exit before.
    patience = plan.runtime.timeout
    while True:
        for rank in servers:
            code = procs[rank].exitcode
            if code not in (None, 0):
                return rank, None
            if code is None and beats[rank] and time.monotonic() - beats[rank] > patience:
                return rank, _hung(plan, rank, procs[rank].pid, patience)
        if all(procs[r].exitcode == 0 for r in servers):
            return None, None
        wait_any([procs[r].sentinel for r in servers if procs[r].exitcode is None],
                 timeout=min(1.0, plan.runtime.timeout / 10))


def _hung(plan: Plan, rank: int, pid: int, patience: float) -> str:
    """One line naming a server that stopped showing signs of life."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stopped = f.read().rpartition(")")[2].split()[0] in ("T", "t")
    except OSError:
        stopped = False
    how = "is stopped (SIGSTOP or a debugger)" if stopped else "hangs"
    return f"{plan.layout.name(rank)} {how}: no sign of life for {patience:g} s (runtime.timeout); run ended"


def _reap(procs: dict, grace: float) -> None:
    """Give every process `grace` seconds to exit, then kill what is left: no orphans."""
    deadline = time.monotonic() + grace
    for p in procs.values():
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
    for p in procs.values():
        if p.pid is not None and p.exitcode is None:
            p.kill()  # SIGKILL ends a stopped process too
            p.join(5.0)


def _failure(plan: Plan, rank: int, code: int, reasons: dict) -> str:
    """One line: why the server at `rank` failed, in its own words, else how it died (its learners, which
    lost it, have nothing to add)."""
    if rank in reasons:
        return reasons[rank]
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return f"{plan.layout.name(rank)} died ({how})"
