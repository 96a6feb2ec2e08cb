"""A shard server: receives learners' messages, feeds its protocol instance, carries out what it decides.

Each shard holds one slice of the flat weights, an SGD optimizer (momentum,
weight decay) over that slice and one protocol.ParameterServer. Every
question of the protocol (answer or hold a pull, when to update, σ, scales,
lr) is the ParameterServer's; this module only moves bytes and does the
arithmetic θ ← θ − lr·Σ scale_k g_k through the optimizer. Shard 0 also
writes the trace, evaluates the assembled weights, draws the progress bar
and writes run.json.

Liveness: a learner that owes the server a message (it is not held) and
sends nothing for `runtime.timeout` seconds, or whose connection closes, is
gone: a protocol Leave, or, under hardsync with on_learner_loss = "stop",
the end of the run.
"""
from __future__ import annotations

import math
import os
import threading
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from tqdm import tqdm

from rudra.models import evaluate, load_dataset
from rudra.models.step import Sgd, flat_model
from rudra.protocol import (HELD, Hold, ParameterServer, ProtocolError, Send, TraceWriter, Update, binned_histogram,
                      staleness_summary, write_run_json)
from rudra.protocol.trace import software_versions

from . import checkpoint
from .errors import LaunchError, first_line
from .inbox import Closed, Inbox
from .plan import Plan
from .versions import machine
from .wire import ABORT, BYE, FLAG, PULL, PUSH, SLICE, STOP, VALUE, WEIGHTS, Message

FINAL = -1          # evaluation index of the end-of-run evaluation
ABORT_SECONDS = 2.0  # how long a failing server tries to tell its learners


class Fault(Exception):
    """Something that ends the run; its message is the one line the user sees."""


class ShardServer:
    """Shard `shard` of the parameter server, running on this process until the run ends."""

    def __init__(self, plan: Plan, shard: int):
        self.plan, self.shard = plan, shard
        self.layout = plan.layout
        self.lo, self.hi = plan.bounds()[shard]
        self.size = self.hi - self.lo
        self.lam = plan.protocol.learners
        self.primary = shard == 0
        self.ps = ParameterServer(plan.protocol, plan.schedule())
        self.out = Message(self.size)  # the weights live in the outgoing buffer: sends copy nothing
        self.weights = self.out.payload
        self.control = Message(max(self.size, 64))  # STOP / ABORT / SLICE headers and texts
        model, params, _ = flat_model(plan.model, plan.input_shape, plan.classes, plan.seed, torch.device("cpu"))
        self.weights.copy_(params[self.lo:self.hi])
        self.optimizer = Sgd(self.weights, plan.train.momentum, plan.train.weight_decay)
        if self.primary:
            data = load_dataset(plan.data, plan.seed)
            self.model, self.eval_params = model, params
            self.test_x, self.test_y = data.test_x, data.test_y
        # Shard 0 also receives the other shards' slices, none larger than its own.
        peers = list(self.layout.learners) + (list(self.layout.servers[1:]) if self.primary else [])
        self.inbox = Inbox(peers, self.size, spare=self.lam + 2)
        self.active = set(range(self.lam))   # learners that may still send
        self.granted: dict[int, float] = {}  # learner -> when it was last sent weights
        self.first_step = [0] * self.lam     # each learner's step at (re)start
        self.applied = [0] * self.lam        # per learner: minibatches whose gradients this shard applied
        self.lost: list[dict] = []
        self.finished = False
        self.holds = self.checkpoints = self.resumed = 0
        self.next_eval = 1
        self.parts: dict[int, dict] = {}     # evaluation index -> {"shards": {s: slice}, ...}
        self.loss_sum, self.loss_n = 0.0, 0
        self.last_metrics: dict = {}
        self.elapsed = 0.0
        self.writer: TraceWriter | None = None
        self.bar = None

    # --- clock and lifecycle --------------------------------------------------------------

    def clock(self) -> float:
        """Seconds since the run started (continuing across resumes)."""
        return self.elapsed + time.monotonic() - self.started

    def run(self) -> dict | None:
        """Serve until every learner is stopped or gone; shard 0 returns the summary, the others None."""
        self._start()
        try:
            while self.active:
                self._handle(self.inbox.get(self._wait()))
                self._check_liveness()
            return self._finish()
        except (Fault, ProtocolError) as fault:
            self._abort(str(fault))
            raise LaunchError(str(fault)) from None
        except RuntimeError as error:  # the process group broke under us
            self._abort(str(error))
            raise LaunchError(f"{self.layout.name(self.layout.servers[self.shard])}: {first_line(error)}") from None

    def _start(self) -> None:
        plan = self.plan
        if plan.resume:
            self._restore(checkpoint.load(plan.out, self.shard))
        if self.primary:
            self.writer = TraceWriter(plan.out, detail=plan.runtime.trace, append=plan.resume)
            self._write_run_json("running")
            if plan.progress:
                tqdm.set_lock(threading.RLock())  # not tqdm's default multiprocessing lock: this process _exits
                self.bar = tqdm(total=plan.target, initial=self.ps.gradients_applied, unit="grad",
                                dynamic_ncols=True, desc="train")
        self.started = self.next_check = time.monotonic()
        if self.primary and not plan.resume:
            self._evaluate_now(0.0, None)
        self._check_finished()

    def _restore(self, state: dict) -> None:
        self.weights.copy_(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ps.restore(state["version"], state["gradients_applied"], state["applied"])
        self.elapsed = state["t"]
        self.first_step = list(state["applied"])
        self.applied = list(state["applied"])
        self.next_eval, self.holds = state["next_eval"], state["holds"]
        self.checkpoints, self.resumed = state["checkpoints"], state["resumed"] + 1
        self.lost = list(state["lost"])  # history only: a resumed run starts all λ learners again
        self.last_metrics = dict(state["metrics"])
        if self.primary:
            checkpoint.restore_trace(self.plan.out, state["trace"])

    # --- messages ---------------------------------------------------------------------------

    def _handle(self, item: Message | Closed | None) -> None:
        if type(item) is Closed:
            role, index = self.layout.role(item.rank)
            if role == "server":
                raise Fault(f"{self.layout.name(item.rank)} is gone ({item.why})")
            self._lose(index, f"closed its connection ({item.why})")
        elif item is not None:
            self._dispatch(item)

    def _dispatch(self, msg: Message) -> None:
        kind, _, version, step = msg.ints()
        role, index = self.layout.role(msg.source)
        if role == "server":
            self._slice(index, version, step, msg)
            return
        learner = index
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
        if kind == PUSH:
            if self.finished:
                self.inbox.release(msg)
            else:
                self._carry_out(self.ps.push(learner, version, msg))
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
            # BarrierShrunk needs no action: _lose recorded the learner, the summary reports the barrier
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
        self.control.set(STOP, learner)
        try:
            dist.send(self.control.frame(), self.layout.learners[learner])
        except RuntimeError:
            pass  # it is gone already; nothing is lost

    # --- updates ------------------------------------------------------------------------------

    def _apply(self, update: Update) -> None:
        """θ ← θ − lr·Σ scale_k g_k through the optimizer, then trace, evaluate and checkpoint as due."""
        self.optimizer.apply(((a.scale, a.gradient.payload[:self.size]) for a in update.gradients), update.lr)
        t = self.clock()
        for a in update.gradients:
            self.applied[a.learner] += 1
            self.loss_sum += a.gradient.slot(VALUE)
            self.loss_n += 1
        if self.writer is not None:
            times = [a.gradient.times() for a in update.gradients] if self.writer.detail == "full" else ()
            self.writer.update(update, t, times)
            if self.bar is not None:
                self._progress(len(update.gradients))
        for a in update.gradients:
            self.inbox.release(a.gradient)
        self._inject_fault()
        while self.ps.gradients_applied >= self.next_eval * self.plan.runtime.eval_every * self.plan.per_epoch:
            self._snapshot(self.next_eval)
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
        if self.plan.protocol.name == "hardsync" and self.plan.runtime.on_learner_loss == "stop":
            raise Fault(f"{name} {why}: hardsync stops the run "
                        "(runtime.on_learner_loss = \"shrink\" would go on without it)")
        self._carry_out(self.ps.leave(learner))
        if self.ps.present == 0:
            raise Fault(f"every learner is gone (last: {name} {why})")

    # --- evaluation -------------------------------------------------------------------------------

    def _snapshot(self, index: int) -> None:
        """This shard's weights for evaluation `index`: kept (shard 0) or sent to shard 0."""
        if self.primary:
            self._evaluate_part(index, 0, self.weights.clone())
            return
        self.out.set(SLICE, self.shard, self.ps.version, index)
        dist.send(self.out.frame(self.size), self.layout.servers[0])

    def _slice(self, shard: int, version: int, index: int, msg: Message) -> None:
        lo, hi = self.plan.bounds()[shard]
        self._evaluate_part(index, shard, msg.payload[:hi - lo].clone())
        self.inbox.release(msg)

    def _evaluate_part(self, index: int, shard: int, part: torch.Tensor) -> None:
        entry = self.parts.setdefault(index, {"shards": {}})
        entry["shards"][shard] = part
        if shard == 0:
            entry["epoch"] = self.ps.gradients_applied / self.plan.per_epoch
            entry["t"] = self.clock()
            entry["train_loss"] = self.loss_sum / self.loss_n if self.loss_n else math.nan
            self.loss_sum, self.loss_n = 0.0, 0
        if len(entry["shards"]) == self.plan.protocol.shards and "epoch" in entry:
            del self.parts[index]
            self._evaluate_now(entry["epoch"], entry)

    def _evaluate_now(self, epoch: float, entry: dict | None) -> None:
        """Assemble the weights, evaluate them on the test set, write a metrics row (one per epoch value)."""
        if self.last_metrics.get("epoch") == epoch:  # the final evaluation repeats the last periodic one
            return
        if entry is not None:  # else: the model still holds the initial weights, the same on every shard
            for s, (lo, hi) in enumerate(self.plan.bounds()):
                self.eval_params[lo:hi].copy_(entry["shards"][s])
        test_loss, test_error = evaluate(self.model, self.test_x, self.test_y)
        train_loss = math.nan if entry is None else entry["train_loss"]
        t = self.clock() if entry is None else entry["t"]
        self.writer.metrics(epoch, t, train_loss, test_error)
        self.last_metrics = {"epoch": epoch, "test_error": test_error, "test_loss": test_loss,
                             "train_loss": train_loss}

    # --- checkpoints, end, failure --------------------------------------------------------------------

    def _state(self) -> dict:
        state = {"shard": self.shard, "weights": self.weights.clone(), "optimizer": self.optimizer.state_dict(),
                 "version": self.ps.version, "gradients_applied": self.ps.gradients_applied, "t": self.clock(),
                 "epoch": self.ps.gradients_applied / self.plan.per_epoch, "applied": list(self.applied),
                 "next_eval": self.next_eval, "holds": self.holds, "checkpoints": self.checkpoints + 1,
                 "resumed": self.resumed, "lost": self.lost, "metrics": self.last_metrics}
        if self.primary:
            state["trace"] = checkpoint.trace_snapshot(self.writer)
        return state

    def _checkpoint(self) -> None:
        checkpoint.save(self.plan.out, self.shard, self._state())
        self.checkpoints += 1
        if self.primary:
            self._write_run_json("running")

    def _finish(self) -> dict | None:
        self._snapshot(FINAL)
        if self.plan.runtime.checkpoint_every:
            self._checkpoint()
        if not self.primary:
            return None
        deadline = time.monotonic() + self.plan.wait
        while FINAL in self.parts:  # waiting for the other shards' final slices
            item = self.inbox.get(deadline - time.monotonic())
            if item is None:
                missing = sorted(set(range(self.plan.protocol.shards)) - set(self.parts[FINAL]["shards"]))
                raise Fault(f"{self.layout.name(self.layout.servers[missing[0]])} sent no final weights "
                            f"within {self.plan.wait:g} s")
            self._handle(item)
        summary = self._summary("finished")
        self._write_run_json("finished", summary)
        self._close()
        return summary

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
        if self.primary and self.writer is not None:
            self._write_run_json("failed", dict(self._summary("failed"), error=reason))
            self._close()

    def _close(self) -> None:
        self.writer.close()
        if self.bar is not None:
            self.bar.close()

    # --- reporting -------------------------------------------------------------------------------------

    def _progress(self, n: int) -> None:
        bar = self.bar
        bar.update(n)
        hist = self.writer.histogram
        total = sum(hist.values())
        postfix = {"epoch": f"{self.ps.gradients_applied / self.plan.per_epoch:.2f}",
                   "σ": f"{sum(k * v for k, v in hist.items()) / total:.2f}" if total else "-"}
        if self.last_metrics:
            postfix["err"] = f"{100 * self.last_metrics['test_error']:.1f}%"
        bar.set_postfix(postfix, refresh=False)

    def _summary(self, status: str) -> dict:
        t = self.clock()
        g, per_epoch = self.ps.gradients_applied, self.plan.per_epoch
        counts = {l: n for l, (n, _) in self.writer.per_learner.items()}
        hist = self.writer.histogram
        width, bins = binned_histogram(hist)
        return {
            "status": status,
            "seconds": t,
            "stopped_by": "epochs" if self.finished else status,
            "gradients": g,
            "updates": self.ps.version,
            "epochs": g / per_epoch,
            "seconds_per_epoch": t * per_epoch / g if g else None,
            "gradients_per_second": g / t if t > 0 else 0.0,
            "samples_per_second": g * self.plan.train.minibatch / t if t > 0 else 0.0,
            "updates_per_second": self.ps.version / t if t > 0 else 0.0,
            "staleness": staleness_summary(hist),
            "staleness_histogram": bins,
            "staleness_bin_width": width,
            "learner_gradients": [counts.get(l, 0) for l in range(self.lam)],
            "holds": self.holds,
            "lost_learners": self.lost,
            "learners_left": self.lam - sum(l["session"] == self.resumed for l in self.lost),
            "barrier": self.ps.c if self.plan.protocol.name == "hardsync" else None,
            **{k: self.last_metrics.get(k) for k in ("test_error", "test_loss", "train_loss")},
            "checkpoints": self.checkpoints,
            "resumed": self.resumed,
            "device": self.plan.runtime.device,
            "architecture": self.plan.protocol.architecture,
            "shards": self.plan.protocol.shards,
        }

    def _write_run_json(self, status: str, summary: dict | None = None) -> None:
        write_run_json(self.plan.out, {"config": self.plan.config, "seed": self.plan.seed, "kind": "real",
                                       "versions": software_versions(torch=torch.__version__), "machine": machine(),
                                       "summary": summary or {"status": status}})
