"""Learners: pull weights from every shard, compute a gradient on their own data stream, push it, until stopped.

What a learner does next is its protocol.learner machine's answer to what it
was told (weights, a HOLD, its compute or push finished), the same machine
the simulator drives; this module carries the answers out. base, adv: one
loop, pull → compute → push, the next pull riding on the push. adv*: the
compute loop carries out every decision, a push thread and a pull thread per
shard move the bytes, so compute overlaps both transfers; a pull leaves only after the
pushes handed over before it (a learner's messages keep their order).
Times sent to the server are on shard 0's clock (clock.py: the offset from
its latest replies, the one delayed least).
"""
from __future__ import annotations

import os
import threading
import time

import torch
import torch.distributed as dist

from rudra.models import load_dataset
from rudra.models.step import flat_model
from rudra.protocol import new_learner
from rudra.protocol.learner import ADOPT, COMPUTE, PULL, PUSH

from .clock import ShardClock
from .compute import Worker, stream_at
from .errors import LaunchError, first_line
from .plan import Plan
from .wire import ABORT, BYE, HOLD, STOP, VALUE, Message
from .wire import PULL as PULL_MSG
from .wire import PUSH as PUSH_MSG


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
        self.clock = ShardClock()  # learner times are kept in monotonic and put on shard 0's clock when sent
        self.notes = [Message(0) for _ in self.bounds]  # PULL and BYE: never the push buffers (adv* sends both at once)
        self.stream = None
        self.step = self.first_step = 0
        self.machine = new_learner(plan.protocol)
        self.cpu0 = time.process_time()  # each push reports the CPU spent since (wire.CPU)
        self.compute_cpu = 0.0  # and the CPU its computes took of it (wire.COMPUTE_CPU)

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

    def _note(self, shard: int, kind: int) -> None:
        """A header-only message (PULL, BYE) to the shard."""
        self._send(shard, self.notes[shard].set(kind, self.index))

    def _expect(self, shard: int):
        """Post the receive for the shard's reply, before asking: a server's send waits for its receiver, so
        replies taken one shard at a time could wait on each other in a cycle."""
        return dist.irecv(self.replies[shard].buf, src=self.layout.servers[shard])

    def _answer(self, shard: int, work) -> tuple | None:
        """The shard's answer to the pull (its receive posted by _expect) told to the machine — a HOLD, then
        the weights it held back: the machine's decisions on the weights, or None if the shard stopped it."""
        msg = self.replies[shard]
        while True:
            try:
                work.wait()
            except RuntimeError as error:
                raise self._gone(shard, error) from None
            kind, _, version, step = msg.ints()
            if kind != HOLD:
                break
            self._tell(self.machine.held, shard)
            work = self._expect(shard)  # for the weights it held back
        if kind == ABORT:
            raise LaunchError(f"{self.me}: {self.layout.name(self.layout.servers[shard])} ended the run: "
                              f"{msg.text()}")
        if kind == STOP:
            return None
        if shard == 0:
            self.clock.heard(msg.slot(VALUE), time.monotonic())
            if self.stream is None:
                self.step = self.first_step = step
                self.stream = stream_at(self.n_samples, self.index, self.plan.protocol.learners,
                                        self.plan.train.minibatch, self.plan.seed, self.plan.data.sampling, step)
        return self._tell(self.machine.weights, shard, version)

    def _receive(self, works: list) -> tuple | None:
        """Every shard's answer, in shard order: the machine's decisions on the last, or None when the run is
        over (the shards that did not stop the learner are told it leaves: they must not wait for it)."""
        decisions, stopped = (), []
        for s, work in enumerate(works):
            answer = self._answer(s, work)
            if answer is None:
                stopped.append(s)
            else:
                decisions = answer
        if not stopped:
            return decisions
        self.machine.stop()
        for s in range(len(works)):
            if s not in stopped:
                self._note(s, BYE)
        return None

    def _tell(self, event, *args) -> tuple:
        """Tell the machine an event; its decisions (the loop carries them out)."""
        return event(*args)

    def _adopt(self) -> None:
        """Copy the received weights into the model."""
        params = self.worker.params
        for (lo, hi), msg in zip(self.bounds, self.replies):
            params[lo:hi].copy_(msg.payload[:hi - lo])

    def _compute(self) -> tuple[float, float, float]:
        """One gradient on the next minibatch: (loss, t_compute_start, t_compute_end)."""
        self._maybe_fail()
        t0, cpu = time.monotonic(), time.thread_time()
        loss = self.worker.gradient(self.stream.next_indices())
        self.compute_cpu += time.thread_time() - cpu
        return loss, t0, time.monotonic()

    def _fill(self, versions: list[int], times: tuple, loss: float, pull: bool) -> None:
        """Put the gradient into the push messages (one per shard). `times` (t_pull, t_compute_start,
        t_compute_end; monotonic) and t_push, taken once the messages are filled and the push can leave, as
        the simulator stamps it, go on shard 0's clock."""
        grads = self.worker.grads
        for (lo, hi), msg in zip(self.bounds, self.pushes):
            msg.payload[:hi - lo].copy_(grads[lo:hi])
        times = tuple(self.clock.at(t) for t in (*times, time.monotonic()))
        cpu = time.process_time() - self.cpu0
        for msg, v in zip(self.pushes, versions):
            msg.set(PUSH_MSG, self.index, v, self.step, times, flag=float(pull), value=loss, cpu=cpu,
                    compute_cpu=self.compute_cpu)
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
        m = self.machine
        shards = range(len(self.bounds))
        t_pull = time.monotonic()
        works = [self._expect(s) for s in shards]
        decisions = m.begin()  # PULL
        while decisions is not None:
            for d in decisions:
                if d is PULL:
                    for s in shards:
                        self._note(s, PULL_MSG)
                elif d is ADOPT:
                    self._adopt()
                elif d is COMPUTE:
                    loss, t0, t1 = self._compute()
                else:  # PUSH_PULL: the gradient, the next pull riding along
                    self._fill(m.pushed, (t_pull, t0, t1), loss, pull=True)
                    works = [self._expect(s) for s in shards]
                    self._push_all()
                    t_pull = t1
            decisions = self._receive(works)


class OverlapLearner(Learner):
    """Learner `index` under adv*: this thread computes and carries out the machine's decisions; a push
    thread and one pull thread per shard send and receive, and tell the machine when they are done. Each
    shard's answer is awaited on its own thread, so a HOLD from one shard is answered (its receive posted
    again for the weights) while another shard's answer is still to come: the server sending those weights
    never waits on a learner busy elsewhere."""

    def run(self) -> None:
        shards = len(self.bounds)
        self.cv = threading.Condition()
        self.stopped = False
        self.error: BaseException | None = None
        self.todo: list = []                      # decisions for this thread to carry out, in order
        self.asking = [False] * shards            # a PULL waits for each shard's pull thread
        self.pull_after = 0                       # pushes that must leave before it
        self.handed = self.sent = 0               # pushes handed to the push thread / sent
        self.t_asked = 0.0                        # when the pull in flight left
        threads = [threading.Thread(target=self._guard(self._push_loop), daemon=True)]
        threads += [threading.Thread(target=self._guard(self._pull_loop), args=(s,), daemon=True)
                    for s in range(shards)]
        for thread in threads:
            thread.start()
        m = self.machine
        limit = self.plan.wait + 5
        t_pull = 0.0                              # when the weights in use were asked for
        done = None                               # (t_pull, t0, t1, loss) of the last gradient computed
        with self.cv:
            self.todo.extend(m.begin())
        while True:
            compute = False
            with self.cv:
                if not self.cv.wait_for(lambda: self.stopped or self.todo, timeout=limit) or self.stopped:
                    break
                todo, self.todo = self.todo, []
                for d in todo:
                    if d is PUSH:
                        self._fill(m.pushed, done[:3], done[3], pull=False)
                        self.handed += 1
                    elif d is ADOPT:  # before the next PULL lets the pull threads receive into the same buffers
                        self._adopt()
                        t_pull = self.t_asked
                    elif d is PULL:
                        self.asking, self.pull_after = [True] * shards, self.handed
                    else:  # COMPUTE, outside the lock
                        compute = True
                self.cv.notify_all()
            if compute:
                loss, t0, t1 = self._compute()
                done = (t_pull, t0, t1, loss)
                self._tell(m.computed)
        if self.error is not None:
            raise self.error
        if not self.stopped:
            raise LaunchError(f"{self.me}: no weights from the servers within {limit:g} s")
        for thread in threads:  # a push in flight finishes before the process leaves the group
            thread.join(limit)

    def _tell(self, event, *args) -> tuple:
        """Tell the machine an event from any thread; its decisions go to the compute thread's list."""
        with self.cv:
            self.todo.extend(event(*args))
            self.cv.notify_all()
        return ()

    def _guard(self, loop):
        def run(*args):
            try:
                loop(*args)
            except BaseException as error:  # handed to the compute thread, which raises it
                with self.cv:
                    self.error, self.stopped = error, True
                    self.cv.notify_all()
        return run

    def _pull_loop(self, shard: int) -> None:
        """Shard's side of each pull; a learner another shard stopped tells this shard it leaves."""
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.stopped or (self.asking[shard] and self.sent >= self.pull_after))
                if self.stopped:
                    break
                self.asking[shard] = False
                if shard == 0:
                    self.t_asked = time.monotonic()
            work = self._expect(shard)
            self._note(shard, PULL_MSG)
            if self._answer(shard, work) is None:  # this shard stopped the learner
                with self.cv:
                    self.stopped = True
                    self.machine.stop()
                    self.cv.notify_all()
                return
        if self.error is None:
            self._note(shard, BYE)

    def _push_loop(self) -> None:
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.stopped or self.handed > self.sent)
                if self.stopped:
                    return
            self._push_all()
            with self.cv:
                self.sent += 1
            self._tell(self.machine.sent)
