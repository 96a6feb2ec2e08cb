"""A shard server's message loop: receive learners' messages, feed this shard's protocol instance, carry out
what it decides.

Each shard holds one slice of the flat weights, the server's SGD (models/
step.py) over that slice and one protocol.ParameterServer. Every question of
the protocol (answer or hold a pull, when to update, σ, scales, lr, whether
a lost learner shrinks a barrier) is the ParameterServer's; this module moves
bytes, applies the updates it decides and judges liveness. Reporting (trace,
evaluation, progress, run.json) is runtime/reporter.py's; checkpoints are
runtime/checkpoint.py's records.

Liveness: a learner that owes the server a message (it is not held) and
sends nothing for `runtime.timeout` seconds, or whose connection closes, is
gone: a protocol Leave, or the end of the run when the Leave shrinks a
hardsync barrier and on_learner_loss = "stop".
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta

import torch.distributed as dist

from rudra.models.step import Sgd, flat_model
from rudra.protocol import HELD, BarrierShrunk, Hold, ParameterServer, ProtocolError, Send, Update, learner_class

from . import checkpoint
from .errors import LaunchError, first_line
from .inbox import Closed, Inbox, Starved
from .plan import Plan
from .reporter import FINAL, Reporter, SliceSender
from .wire import ABORT, BYE, COMPUTE_CPU, CPU, FLAG, HOLD, PULL, PUSH, STOP, WEIGHTS, Message

ABORT_SECONDS = 2.0  # how long a failing server tries to tell its learners


class Fault(Exception):
    """Something that ends the run; its message is the one line the user sees."""


class ShardServer:
    """Shard `shard` of the parameter server, running on this process until the run ends."""

    def __init__(self, plan: Plan, shard: int, alive: Callable[[], None] | None = None):
        self.plan, self.shard = plan, shard
        self.alive = alive or (lambda: None)  # called from the message loop: a heartbeat for the launcher
        self.layout = plan.layout
        self.me = self.layout.name(self.layout.servers[shard])
        lo, hi = plan.bounds()[shard]
        self.size = hi - lo
        self.lam = plan.protocol.learners
        self.ps = ParameterServer(plan.protocol, plan.schedule())
        self.tell_holds = learner_class(plan.protocol).hears_holds  # adv*: a held learner stops computing
        self.out = Message(self.size)  # the weights live in the outgoing buffer: sends copy nothing
        self.weights = self.out.payload
        self.control = Message(max(self.size, 64))  # STOP / ABORT headers and texts
        net = flat_model(plan.model, plan.input_shape, plan.classes, plan.seed)
        self.weights.copy_(net.params[lo:hi])
        self.optimizer = Sgd(self.weights, plan.train.momentum, plan.train.weight_decay)
        self.report = Reporter(plan, net, self.ps, self.clock) if shard == 0 else \
            SliceSender(plan, shard, self.out, self.ps)
        self.inbox = Inbox(list(self.layout.learners) + list(self.report.peers), self.size, kept=self.ps.c,
                           timeout=plan.runtime.timeout)
        self.active = set(range(self.lam))   # learners that may still send
        self.granted: dict[int, float] = {}  # learner -> when it was last sent weights
        self.first_step = [0] * self.lam     # each learner's step at (re)start
        self.applied = [0] * self.lam        # per learner: minibatches whose gradients this shard applied
        self.received = [0] * self.lam       # per learner: pushes taken in this session ...
        self.dropped = [0] * self.lam        # ... of which not given to the protocol (learner stopped or gone, run done)
        self.numbered = [0] * self.lam       # per learner: its highest push number seen, + 1 − its first this session
        self.learner_cpu = [0.0] * self.lam  # per learner: CPU seconds its last push reported (wire.CPU)
        self.learner_compute_cpu = [0.0] * self.lam  # of them its computes' (wire.COMPUTE_CPU)
        self.cpu = 0.0                       # this process's CPU seconds in the message loop
        self.lost: list[dict] = []
        self.finished = False
        self.holds = self.checkpoints = self.resumed = 0
        self.next_eval = 1
        self.elapsed = 0.0

    # --- clock and lifecycle --------------------------------------------------------------

    def clock(self, at: float | None = None) -> float:
        """Seconds since the run started (continuing across resumes), now or at time.monotonic() `at`."""
        return self.elapsed + (time.monotonic() if at is None else at) - self.started

    def run(self) -> dict | None:
        """Serve until every learner is stopped or gone; shard 0 returns its run.json, the others None."""
        self._start()
        try:
            self._serve()
            return self._finish()
        except (Fault, ProtocolError) as fault:
            self._abort(str(fault))
            raise LaunchError(str(fault)) from None
        except RuntimeError as error:  # the process group broke under us
            self._abort(str(error))
            raise LaunchError(f"{self.me}: {first_line(error)}") from None

    def _serve(self) -> None:
        """The message loop, until no learner may send; its CPU time is kept however it ends (run.json)."""
        cpu = time.process_time()
        try:
            while self.active:
                self.alive()
                self._handle(self.inbox.get(self._wait()))
                self._check_liveness()
        finally:
            self.cpu = time.process_time() - cpu

    def _start(self) -> None:
        if self.plan.resume:
            self._restore(checkpoint.load(self.plan.out, self.shard))
        self.started = self.next_check = time.monotonic()
        self.report.start()
        self._check_finished()

    def _restore(self, record: checkpoint.CheckpointRecord) -> None:
        self.weights.copy_(record.weights)
        self.optimizer.load_state_dict(record.optimizer)
        self.ps.restore(record.version, record.gradients_applied, record.applied)
        self.elapsed = record.t
        self.first_step = list(record.applied)
        self.applied = list(record.applied)
        self.next_eval, self.holds = record.next_eval, record.holds
        self.checkpoints, self.resumed = record.checkpoints, record.resumed + 1
        self.lost = list(record.lost)  # history only: a resumed run starts all λ learners again
        self.report.restore(record)

    # --- messages ---------------------------------------------------------------------------

    def _handle(self, item: Message | Closed | Starved | None) -> None:
        if type(item) is Closed:
            role, index = self.layout.role(item.rank)
            if role == "server":
                if index in self.report.done:  # it sent its final slice and left: the other learners may go on
                    return
                raise Fault(f"{self.layout.name(item.rank)} closed its connection")
            self._lose(index, "closed its connection")
        elif type(item) is Starved:
            raise Fault(f"{self.me}: {item} to receive from {self.layout.name(item.rank)}")
        elif item is not None:
            self._dispatch(item)

    def _dispatch(self, msg: Message) -> None:
        kind, _, version, step = msg.ints()
        role, learner = self.layout.role(msg.source)
        if role == "server":  # only SLICE travels between shards
            self.report.slice(msg)
            self.inbox.release(msg)
            return
        if kind == PUSH:
            msg.taken = time.monotonic()
            self.received[learner] += 1
            self.numbered[learner] = max(self.numbered[learner], step + 1 - self.first_step[learner])
            self.dropped[learner] += learner not in self.active or self.finished
            self.learner_cpu[learner] = max(self.learner_cpu[learner], msg.slot(CPU))
            self.learner_compute_cpu[learner] = max(self.learner_compute_cpu[learner], msg.slot(COMPUTE_CPU))
        pull = kind == PULL or (kind == PUSH and msg.slot(FLAG) > 0)
        if learner not in self.active:        # stopped or declared gone: it gets STOP, its gradient is dropped
            self.inbox.release(msg)
            if pull:
                self._stop(learner)
            return
        if kind == BYE:
            self.inbox.release(msg)
            self.active.discard(learner)
            if not self.finished:
                self._carry_out(self.ps.leave(learner))
            return
        if kind == PUSH and not self.finished:
            self._carry_out(self.ps.push(learner, version, msg))  # the protocol keeps the buffer until applied
        else:
            self.inbox.release(msg)
        if pull and learner in self.active:
            if self.finished:
                self._stop(learner)
            else:
                self._carry_out(self.ps.pull(learner))

    def _carry_out(self, decisions: list) -> None:
        gone = []
        for d in decisions:
            if type(d) is Send:
                if self.finished:
                    self._stop(d.learner)
                elif not self._send_weights(d.learner):
                    gone.append(d.learner)
            elif type(d) is Update:
                self._apply(d)
            elif type(d) is Hold:
                self.holds += 1
                if self.tell_holds and not self._send_header(HOLD, d.learner):
                    gone.append(d.learner)
            # BarrierShrunk: _lose decides before carrying out; run.json reports the barrier
        for learner in gone:
            self._lose(learner, "closed its connection")

    def _send_weights(self, learner: int) -> bool:
        """Send the current weights; False if the learner's connection is gone."""
        self.out.set(WEIGHTS, learner, self.ps.version, self.first_step[learner], value=self.clock())
        try:
            dist.send(self.out.frame(self.size), self.layout.learners[learner])
        except RuntimeError:
            return False
        self.granted[learner] = time.monotonic()
        return True

    def _stop(self, learner: int) -> None:
        self.active.discard(learner)
        self._send_header(STOP, learner)  # if it is gone already, nothing is lost

    def _send_header(self, kind: int, learner: int) -> bool:
        """Send a header-only message (STOP, HOLD) to the learner; False if its connection is gone."""
        self.control.set(kind, learner, self.ps.version)
        try:
            dist.send(self.control.frame(), self.layout.learners[learner])
        except RuntimeError:
            return False
        return True

    # --- updates ------------------------------------------------------------------------------

    def _apply(self, update: Update) -> None:
        """θ ← θ − lr·Σ scale_k g_k through the optimizer, then report, evaluate and checkpoint as due."""
        self.optimizer.apply(((a.scale, a.gradient.payload[:self.size]) for a in update.gradients), update.lr)
        for a in update.gradients:
            self.applied[a.learner] += 1
        self.report.update(update, self.clock())
        for a in update.gradients:
            self.inbox.release(a.gradient)
        self._inject_fault()
        while self.ps.gradients_applied >= self.next_eval * self.plan.runtime.eval_every * self.plan.per_epoch:
            self.report.snapshot(self.next_eval, self.weights)
            self.next_eval += 1
        every = self.plan.runtime.checkpoint_every
        if every and update.version % every == 0:
            self._checkpoint()
        self._check_finished()

    def _check_finished(self) -> None:
        if self.finished or self.ps.gradients_applied < self.plan.target:
            return
        self.finished = True
        for learner in sorted(self.active):
            if self.ps.state(learner) == HELD:
                self._stop(learner)

    def _inject_fault(self) -> None:
        rt = self.plan.runtime
        if rt.fault == "server-exit" and rt.fault_target == self.shard and self.ps.version >= rt.fault_after:
            os._exit(1)

    # --- liveness -------------------------------------------------------------------------------

    def _owes(self, learner: int) -> bool:
        """True if the learner must send something soon (it is not held by the protocol)."""
        return self.finished or self.ps.state(learner) != HELD

    def _deadline(self, learner: int) -> float:
        seen = self.inbox.last_seen.get(self.layout.learners[learner], self.started)
        return max(seen, self.granted.get(learner, self.started)) + self.plan.runtime.timeout

    def _wait(self) -> float:
        return self.next_check - time.monotonic()

    def _check_liveness(self) -> None:
        """Every tenth of the timeout (at most every second): lose the learners past their deadline."""
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + min(1.0, self.plan.runtime.timeout / 10)
        for learner in sorted(self.active):
            if self._owes(learner) and now > self._deadline(learner):
                self._lose(learner, f"sent nothing for {self.plan.runtime.timeout:g} s")

    def _lose(self, learner: int, why: str) -> None:
        if learner not in self.active:
            return
        self.active.discard(learner)
        name = self.layout.name(self.layout.learners[learner])
        self.lost.append({"learner": learner, "rank": self.layout.learners[learner], "reason": why,
                          "t": self.clock(), "version": self.ps.version, "session": self.resumed})
        if self.finished:
            return
        decisions = self.ps.leave(learner)
        if self.plan.runtime.on_learner_loss == "stop" and any(type(d) is BarrierShrunk for d in decisions):
            raise Fault(f"{name} {why}: hardsync stops the run "
                        "(runtime.on_learner_loss = \"shrink\" would go on without it)")
        self._carry_out(decisions)
        if self.ps.present == 0:
            raise Fault(f"every learner is gone (last: {name} {why})")

    # --- checkpoints, end, failure --------------------------------------------------------------------

    def _record(self) -> checkpoint.CheckpointRecord:
        return checkpoint.CheckpointRecord(
            shard=self.shard, weights=self.weights.clone(), optimizer=self.optimizer.state_dict(),
            version=self.ps.version, gradients_applied=self.ps.gradients_applied, t=self.clock(),
            epoch=self.ps.gradients_applied / self.plan.per_epoch, applied=list(self.applied),
            next_eval=self.next_eval, holds=self.holds, checkpoints=self.checkpoints + 1, resumed=self.resumed,
            lost=self.lost, **self.report.record())

    def _checkpoint(self) -> None:
        checkpoint.save(self.plan.out, self._record())
        self.checkpoints += 1
        self.report.checkpointed()

    def _finish(self) -> dict | None:
        self.report.snapshot(FINAL, self.weights)
        if self.plan.runtime.checkpoint_every:
            self._checkpoint()
        deadline = time.monotonic() + self.plan.wait
        while missing := self.report.missing(FINAL):  # shard 0 waits for the other shards' final slices
            self.alive()
            item = self.inbox.get(deadline - time.monotonic())
            if item is None:
                raise Fault(f"{self.layout.name(self.layout.servers[missing[0]])} sent no final weights "
                            f"within {self.plan.wait:g} s")
            self._handle(item)
        return self.report.finished(self)

    def _abort(self, reason: str) -> None:
        """Tell every learner still here that the run failed, and leave the trace readable."""
        n = self.control.set(ABORT).set_text(reason)
        sends = []
        for learner in sorted(self.active):
            try:
                sends.append(dist.isend(self.control.frame(n), self.layout.learners[learner]))
            except RuntimeError:
                pass  # gone already
        deadline = time.monotonic() + ABORT_SECONDS  # a learner that never asks again is not waited for
        for work in sends:
            try:
                work.wait(timedelta(seconds=max(0.01, deadline - time.monotonic())))
            except RuntimeError:
                pass
        self.active.clear()
        self.report.failed(self, reason)
