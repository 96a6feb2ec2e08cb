"""Learners: pull weights from every shard, compute a gradient on their own data stream, push it, until stopped.

base, adv: one loop, pull → compute → push, the next pull riding on the push
(as in the simulator). adv*: a compute loop on the newest weights held, a push
thread and a pull thread, so compute overlaps both transfers; a pull leaves
only after the pushes handed over before it (a learner's messages keep their
order). protocol/ allows adv* with softsync and async only.
Times sent to the server are on shard 0's clock (offset learned from each
of its replies).
"""
from __future__ import annotations

import os
import threading
import time

import torch
import torch.distributed as dist

from rudra.models import load_dataset
from rudra.models.step import flat_model

from .compute import Worker, stream_at
from .errors import LaunchError, first_line
from .plan import Plan
from .wire import ABORT, BYE, PULL, PUSH, STOP, VALUE, Message


class Learner:
    """Learner `index` (base and adv): the pull → compute → push loop."""

    def __init__(self, plan: Plan, index: int, device: torch.device):
        self.plan, self.index = plan, index
        self.layout = plan.layout
        self.me = self.layout.name(self.layout.learners[index])
        self.bounds = plan.bounds()
        data = load_dataset(plan.data, plan.seed)
        net = flat_model(plan.model, plan.input_shape, plan.classes, plan.seed, device)
        self.worker = Worker(net, data.train_x, data.train_y)
        self.n_samples = len(data.train_y)
        self.replies = [Message(hi - lo) for lo, hi in self.bounds]
        self.pushes = [Message(hi - lo) for lo, hi in self.bounds]
        self.offset = 0.0  # shard 0's run clock minus time.monotonic(): learner times are kept in monotonic
        self.notes = [Message(0) for _ in self.bounds]  # PULL and BYE: never the push buffers (adv* sends both at once)
        self.stream = None
        self.step = self.first_step = 0


    # --- messages -----------------------------------------------------------------------------

    def _gone(self, shard: int, error: BaseException) -> LaunchError:
        server = self.layout.name(self.layout.servers[shard])
        if "Timed out" in str(error):
            return LaunchError(f"{self.me}: no answer from {server} within {self.plan.wait:g} s")
        return LaunchError(f"{self.me}: lost {server} ({first_line(error)})")

    def _send(self, shard: int, msg: Message, floats: int = 0) -> None:
        try:
            dist.send(msg.frame(floats), self.layout.servers[shard])
        except RuntimeError as error:
            raise self._gone(shard, error) from None

    def _pull_all(self) -> None:
        for s, msg in enumerate(self.notes):
            self._send(s, msg.set(PULL, self.index))  # header only

    def _expect(self) -> list:
        """Post the receives for every shard's reply, before asking: a server's send waits for its receiver,
        so replies taken one shard at a time could wait on each other in a cycle."""
        return [dist.irecv(msg.buf, src=rank) for msg, rank in zip(self.replies, self.layout.servers)]

    def _receive(self, works: list) -> list[int] | None:
        """One reply from every shard (receives posted by _expect): their versions, or None when the run is over."""
        versions, stopped = [], []
        for s, (msg, work) in enumerate(zip(self.replies, works)):
            try:
                work.wait()
            except RuntimeError as error:
                raise self._gone(s, error) from None
            kind, _, version, step = msg.ints()
            if kind == ABORT:
                raise LaunchError(f"{self.me}: {self.layout.name(self.layout.servers[s])} ended the run: "
                                  f"{msg.text()}")
            if kind == STOP:
                stopped.append(s)
                continue
            if s == 0:
                self.offset = msg.slot(VALUE) - time.monotonic()
                if self.stream is None:
                    self.step = self.first_step = step
                    self.stream = stream_at(self.n_samples, self.index, self.plan.protocol.learners,
                                            self.plan.train.minibatch, self.plan.seed, self.plan.data.sampling, step)
            versions.append(version)
        if not stopped:
            return versions
        for s in range(len(self.replies)):  # shards still serving it must not wait for it
            if s not in stopped:
                self._send(s, self.notes[s].set(BYE, self.index))
        return None

    def _adopt(self) -> None:
        """Copy the received weights into the model."""
        params = self.worker.params
        for (lo, hi), msg in zip(self.bounds, self.replies):
            params[lo:hi].copy_(msg.payload[:hi - lo])

    def _compute(self) -> tuple[float, float, float]:
        """One gradient on the next minibatch: (loss, t_compute_start, t_compute_end)."""
        self._maybe_fail()
        t0 = time.monotonic()
        loss = self.worker.gradient(self.stream.next_indices())
        return loss, t0, time.monotonic()

    def _fill(self, versions: list[int], times: tuple, loss: float, pull: bool) -> None:
        """Put the gradient into the push messages (one per shard); `times` (monotonic) go on shard 0's clock."""
        grads = self.worker.grads
        times = tuple(t + self.offset for t in times)
        for (lo, hi), msg, v in zip(self.bounds, self.pushes, versions):
            msg.payload[:hi - lo].copy_(grads[lo:hi])
            msg.set(PUSH, self.index, v, self.step, times, flag=float(pull), value=loss)
        self.step += 1

    def _push_all(self) -> None:
        for s, ((lo, hi), msg) in enumerate(zip(self.bounds, self.pushes)):
            self._send(s, msg, hi - lo)

    def _maybe_fail(self) -> None:
        """Fault injection (runtime.fault): this learner exits or hangs after `fault_after` gradients."""
        rt = self.plan.runtime
        if rt.fault in ("learner-exit", "learner-hang") and rt.fault_target == self.index \
                and self.step - self.first_step >= rt.fault_after:
            if rt.fault == "learner-hang":
                time.sleep(4 * rt.timeout)
            os._exit(1)

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        t_pull = time.monotonic()
        works = self._expect()
        self._pull_all()
        while (versions := self._receive(works)) is not None:
            self._adopt()
            loss, t0, t1 = self._compute()
            self._fill(versions, (t_pull, t0, t1, t1), loss, pull=True)
            works = self._expect()
            self._push_all()
            t_pull = t1


class OverlapLearner(Learner):
    """Learner `index` under adv*: compute on this thread, pushes and pulls on two communication threads."""

    def run(self) -> None:
        self.cv = threading.Condition()
        self.stopped = False
        self.error: BaseException | None = None
        self.fresh: list[int] | None = None      # versions received, not yet adopted
        self.t_fresh = 0.0                        # when the pull that fetched them left
        self.pulling = False
        self.pull_after = 0                       # pushes that must leave before the pull
        self.handed = self.sent = 0               # pushes handed to the push thread / sent
        threads = [threading.Thread(target=self._guard(target), daemon=True)
                   for target in (self._pull_loop, self._push_loop)]
        for thread in threads:
            thread.start()
        held, t_pull = None, 0.0
        limit = self.plan.wait + 5
        while True:
            with self.cv:
                self._request_pull()
                ready = self.cv.wait_for(lambda: self.stopped or self.fresh is not None or held is not None,
                                         timeout=limit)
                if self.stopped or not ready:
                    break
                if self.fresh is not None:
                    self._adopt()
                    held, t_pull, self.fresh = self.fresh, self.t_fresh, None
                    self._request_pull()
            loss, t0, t1 = self._compute()
            with self.cv:
                if not self.cv.wait_for(lambda: self.stopped or self.sent == self.handed, timeout=limit):
                    break
                if self.stopped:
                    break
                self._fill(held, (t_pull, t0, t1, time.monotonic()), loss, pull=False)
                self.handed += 1
                self.cv.notify_all()
        if self.error is not None:
            raise self.error
        if not self.stopped:
            raise LaunchError(f"{self.me}: no weights from the servers within {limit:g} s")
        for thread in threads:  # a push in flight finishes before the process leaves the group
            thread.join(limit)

    def _request_pull(self) -> None:
        """Ask the (idle) pull thread for fresher weights; it leaves after the pushes handed so far."""
        if not self.pulling and self.fresh is None:
            self.pulling, self.pull_after = True, self.handed
            self.cv.notify_all()

    def _guard(self, loop):
        def run():
            try:
                loop()
            except BaseException as error:  # handed to the compute thread, which raises it
                with self.cv:
                    self.error, self.stopped = error, True
                    self.cv.notify_all()
        return run

    def _pull_loop(self) -> None:
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.stopped or (self.pulling and self.sent >= self.pull_after))
                if self.stopped:
                    return
            t = time.monotonic()
            works = self._expect()
            self._pull_all()
            versions = self._receive(works)
            with self.cv:
                if versions is None:
                    self.stopped = True
                else:
                    self.fresh, self.t_fresh = versions, t
                self.pulling = False
                self.cv.notify_all()
                if self.stopped:
                    return

    def _push_loop(self) -> None:
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.stopped or self.handed > self.sent)
                if self.stopped:
                    return
            self._push_all()
            with self.cv:
                self.sent += 1
                self.cv.notify_all()
