"""The learner's side of the protocol: one sans-I/O machine per learner, events in, decisions out.

Theory of operation
-------------------
A learner pulls weights from every shard, computes a gradient on them and
pushes it, until it is stopped. What it does next follows only from what it
was told: weights of version v from shard s, a Hold from shard s (the server
holds its pull; the weights follow later), its compute finished, its push
thread sent the last gradient. The machine never reads a clock and never
looks at a server's state: a Hold is a message the learner receives.

SerialLearner (base, adv) has one thread: pull → compute → push, the next
pull riding on the push. Compute starts once every shard's weights arrived,
and nothing it could receive changes that minibatch, so the last weights
decide it whole: ADOPT, COMPUTE, then PUSH_PULL when the compute ends. A Hold
changes nothing it does (it waits for the weights anyway), so servers need
not send it one (`hears_holds` is False); it accepts one all the same.

OverlapLearner (adv*) has a compute, a push and a pull thread. At each
hand-over the finished gradient goes to the push thread, which sends one
gradient at a time (the compute thread waits only while the previous one is
still leaving); then the next minibatch starts: weights that arrived are
adopted, an idle pull thread asks for fresher ones, and the compute thread
computes on the newest weights it holds, unless a shard holds its pull: then
it stops until that pull's weights arrive (`hears_holds` is True).

Each thread's legal moves are in the tables below ((state, event) → state);
an event no table allows raises ProtocolError and leaves the machine as it
was. Events return a tuple of decisions, in the order the driver must carry
them out; a PULL that follows a PUSH leaves after it (a learner's messages
keep their order). After `stop` every event is accepted and decides nothing
(a driver's threads may still report what they were doing).

Guarantees, for every sequence of legal events:
  * a COMPUTE runs on weights the servers sent, one version from each shard
    (`versions`), all of one pull; every computed gradient is pushed exactly
    once, on the versions it was computed on (`pushed`), in compute order;
  * one pull at a time is in flight;
  * overlap: once a Hold arrived, no minibatch starts until that pull's
    weights have arrived from every shard, and those are the next adopted.
"""
from __future__ import annotations

from typing import NoReturn

from .events import ProtocolError
from .spec import ProtocolSpec

# --- decisions (sentinels; what they act on is the machine's `versions` and `pushed`) -----------------
PULL = "PULL"            # ask every shard for its current weights
ADOPT = "ADOPT"          # the weights that arrived become the ones computed on (`versions`)
COMPUTE = "COMPUTE"      # start a minibatch on `versions`
PUSH = "PUSH"            # send the gradient computed on `pushed`
PUSH_PULL = "PUSH_PULL"  # once the compute ends, send its gradient (on `pushed`) and the next pull (serial)

# --- states ---------------------------------------------------------------------------------------------
IDLE, AWAITING, COMPUTING, STOPPED = "IDLE", "AWAITING", "COMPUTING", "STOPPED"
WAITING, HANDING = "WAITING", "HANDING"        # overlap compute thread: no weights to use / push thread busy
PULLING, SENDING = "PULLING", "SENDING"        # overlap pull thread, push thread

SERIAL_TRANSITIONS = {
    (IDLE, "begin"): AWAITING,            # PULL
    (AWAITING, "held"): AWAITING,
    (AWAITING, "weights"): AWAITING,      # the last shard's: ADOPT, COMPUTE, PUSH_PULL (its pull is the next)
}
# adv*: one table per thread; "start" (a minibatch starts) and "hand-over" (the gradient goes to the push
# thread) are steps inside the machine. A hand-over happens at `computed` if the push thread is IDLE, else at
# `sent`; a start follows every hand-over, and the completion of a pull the compute thread was WAITING for.
OVERLAP_TRANSITIONS = {
    "compute thread": {(IDLE, "begin"): WAITING,
                       (WAITING, "start"): COMPUTING,      # COMPUTE; WAITING instead with no weights or held
                       (COMPUTING, "computed"): HANDING,
                       (HANDING, "hand-over"): WAITING},   # then at once a start
    "pull thread": {(IDLE, "start"): PULLING,              # PULL (adopting fresh weights first: ADOPT)
                    (PULLING, "held"): PULLING,
                    (PULLING, "weights"): PULLING},        # IDLE once the last shard answered: fresh weights
    "push thread": {(IDLE, "hand-over"): SENDING,          # PUSH
                    (SENDING, "sent"): IDLE},
}
JUDGED_BY = {"begin": "compute thread", "computed": "compute thread", "weights": "pull thread",
             "held": "pull thread", "sent": "push thread"}  # whose state makes an event legal

_NOTHING: tuple = ()
_MINIBATCH = (ADOPT, COMPUTE, PUSH_PULL)
_PULL = (PULL,)
_HELD = -1  # a shard's answer so far: a Hold (versions are >= 0)


class _Learner:
    """What both learners share: the pull in flight (each shard's answer so far), what they compute on."""

    __slots__ = ("shards", "versions", "pushed", "pushes", "_answers", "_missing", "_held", "state")
    hears_holds = False

    def __init__(self, shards: int = 1):  # the simulator builds λ of these: plain stores only
        if shards < 1:
            raise ValueError(f"shards = {shards}: allowed >= 1")
        self.shards = shards
        self.versions: tuple[int, ...] | None = None  # weights the current (or next) minibatch computes on
        self.pushed: tuple[int, ...] | None = None    # versions of the gradient last handed over
        self.pushes = 0                               # gradients handed over so far
        self._answers: list[int | None] | None = None  # this pull, per shard: None, _HELD or the version
        self._missing = shards                        # shards whose weights are still to come
        self._held = 0                                # shards holding this pull
        self.state = IDLE

    def _pull_answers(self) -> list[int | None]:
        """Each shard's answer to the pull in flight so far (made when the first answer comes)."""
        if self._answers is None:
            self._answers = [None] * self.shards
        return self._answers

    def _stopped_or_refuse(self, event: str, thread: str, state: str) -> tuple:
        """After stop every event decides nothing; before, an event no table allows is refused."""
        if state is STOPPED:
            return _NOTHING
        self._refuse(event, thread, state)

    @property
    def holds(self) -> int:
        """Shards holding the pull in flight (their Hold arrived, their weights have not)."""
        return self._held

    def _answer(self, shard: int, version: int) -> tuple[int, ...] | None:
        """Record shard's weights; the pull's versions once every shard answered, else None."""
        if not 0 <= shard < self.shards or version < 0:
            self._refuse_answer(shard, version)
        answers = self._pull_answers()
        got = answers[shard]
        if got is not None:
            if got != _HELD:
                self._refuse_answer(shard, version)
            self._held -= 1
        answers[shard] = version
        self._missing -= 1
        if self._missing:
            return None
        self._answers, self._missing = None, self.shards
        return tuple(answers)

    def _hold(self, shard: int) -> None:
        """Record shard's Hold of the pull in flight."""
        if not 0 <= shard < self.shards:
            self._refuse_answer(shard, None)
        answers = self._pull_answers()
        if answers[shard] is not None:
            self._refuse_answer(shard, None)
        answers[shard] = _HELD
        self._held += 1

    def _refuse_answer(self, shard: int, version: int | None) -> NoReturn:
        what = "a Hold" if version is None else f"weights of version {version}"
        if not 0 <= shard < self.shards:
            raise ProtocolError(f"{what} from shard {shard}: there are {self.shards} shards")
        if version is not None and version < 0:
            raise ProtocolError(f"{what} from shard {shard}: versions are >= 0")
        got = self._answers[shard]  # the range was checked, and a shard that answered made the list
        raise ProtocolError(f"{what} from shard {shard}, which already "
                            + ("held this pull" if got == _HELD else f"sent version {got} for this pull"))

    def _refuse(self, event: str, thread: str, state: str) -> NoReturn:
        raise ProtocolError(f"{event} while the {thread} is {state}: {_why(event, state)}")

    def handle(self, event: tuple) -> tuple:
        """Dispatch an event written as a tuple: ("weights", shard, version), ("held", shard), ("computed",)..."""
        if not event or event[0] not in EVENTS:
            raise ProtocolError(f"unknown learner event {event!r}: allowed {', '.join(EVENTS)}")
        return getattr(self, event[0])(*event[1:])


class SerialLearner(_Learner):
    """base and adv: pull → compute → push, the next pull riding on the push (SERIAL_TRANSITIONS)."""

    __slots__ = ()

    def begin(self) -> tuple:
        """The learner starts: it asks every shard for weights."""
        if self.state is not IDLE:
            return self._stopped_or_refuse("begin", "learner", self.state)
        self.state = AWAITING
        return _PULL

    def weights(self, shard: int, version: int) -> tuple:
        """Shard's weights of `version` arrived: once every shard's have, the learner computes on them and
        pushes the gradient with its next pull (which this pull's answers now wait for)."""
        if self.state is not AWAITING:
            return self._stopped_or_refuse("weights", "learner", self.state)
        if self.shards == 1:  # the simulator's hot path: no list to fill
            if shard or version < 0:
                self._refuse_answer(shard, version)
            if self._held:
                self._answers, self._held = None, 0
            self.versions = self.pushed = (version,)
        else:
            versions = self._answer(shard, version)
            if versions is None:
                return _NOTHING
            self.versions = self.pushed = versions
        self.pushes += 1
        return _MINIBATCH

    def held(self, shard: int) -> tuple:
        """Shard holds the pull: the learner waits for the weights, as it does anyway."""
        if self.state is not AWAITING:
            return self._stopped_or_refuse("held", "learner", self.state)
        self._hold(shard)
        return _NOTHING

    def computed(self) -> tuple:
        """Refused: the last weights decided the minibatch whole, its end decides nothing."""
        return self._no_such_event("computed", "its minibatch was decided whole by the last weights")

    def sent(self) -> tuple:
        """Refused: a serial learner's push leaves in line, it has no push thread to report on."""
        return self._no_such_event("sent", "it has no push thread (its push leaves with the next pull)")

    def _no_such_event(self, event: str, why: str) -> tuple:
        if self.state is STOPPED:
            return _NOTHING
        raise ProtocolError(f"{event}: a serial learner is not told this; {why}")

    def stop(self) -> tuple:
        """The run is over for this learner."""
        self.state = STOPPED
        return _NOTHING


class OverlapLearner(_Learner):
    """adv*: compute, push and pull threads (OVERLAP_TRANSITIONS)."""

    __slots__ = ("pull_thread", "push_thread", "_fresh")
    hears_holds = True

    def __init__(self, shards: int = 1):
        super().__init__(shards)
        self.pull_thread, self.push_thread = IDLE, IDLE
        self._fresh: tuple[int, ...] | None = None  # weights arrived, to adopt at the next minibatch start

    @property
    def compute_thread(self) -> str:
        """The compute thread's state: the learner's `state` (STOPPED once stopped)."""
        return self.state

    def begin(self) -> tuple:
        """The learner starts: the pull thread asks for weights; the compute thread waits for them."""
        if self.state is not IDLE:
            return self._stopped_or_refuse("begin", "compute thread", self.state)
        self.state, self.pull_thread = WAITING, PULLING
        return _PULL

    def weights(self, shard: int, version: int) -> tuple:
        """Shard's weights arrived; once every shard's have, they are fresh (and a waiting compute thread
        starts a minibatch on them)."""
        if self.pull_thread is not PULLING:
            return self._stopped_or_refuse("weights", "pull thread", self.pull_thread)
        versions = self._answer(shard, version)
        if versions is None:
            return _NOTHING
        self._fresh, self.pull_thread = versions, IDLE
        if self.state is WAITING:
            return self._start(_NOTHING)
        return _NOTHING

    def held(self, shard: int) -> tuple:
        """Shard holds the pull: the compute thread stops before its next minibatch."""
        if self.pull_thread is not PULLING:
            return self._stopped_or_refuse("held", "pull thread", self.pull_thread)
        self._hold(shard)
        return _NOTHING

    def computed(self) -> tuple:
        """The gradient is ready: handed to the push thread, or waits while the previous one leaves."""
        if self.state is not COMPUTING:
            return self._stopped_or_refuse("computed", "compute thread", self.state)
        if self.push_thread is SENDING:
            self.state = HANDING
            return _NOTHING
        return self._hand_over()

    def sent(self) -> tuple:
        """The push thread sent the last gradient; one waiting for it is handed over now."""
        if self.push_thread is not SENDING:
            return self._stopped_or_refuse("sent", "push thread", self.push_thread)
        self.push_thread = IDLE
        if self.state is HANDING:
            return self._hand_over()
        return _NOTHING

    def stop(self) -> tuple:
        """The run is over for this learner."""
        self.state = self.pull_thread = self.push_thread = STOPPED
        return _NOTHING

    def _hand_over(self) -> tuple:
        self.pushed = self.versions
        self.pushes += 1
        self.push_thread = SENDING
        return self._start((PUSH,))

    def _start(self, out: tuple) -> tuple:
        """A minibatch starts (after `out`): adopt fresh weights, keep the pull thread busy, compute or wait."""
        if self._fresh is not None:
            self.versions, self._fresh = self._fresh, None
            out += (ADOPT,)
        if self.pull_thread is IDLE:
            self.pull_thread = PULLING
            out += (PULL,)
        if self.versions is None or self._held:
            self.state = WAITING
            return out
        self.state = COMPUTING
        return out + (COMPUTE,)


EVENTS = ("begin", "weights", "held", "computed", "sent", "stop")


def _why(event: str, state: str) -> str:
    """Why `event` is illegal in `state` (the slow path of a refusal)."""
    if event == "begin":
        return "the learner has begun already"
    if event in ("weights", "held"):
        return "no pull is in flight (a server answers only pulls)"
    if event == "computed":
        return "its gradient already waits for the push thread" if state is HANDING else "no minibatch is computing"
    return "no push is being sent"


def learner_class(spec: ProtocolSpec) -> type[SerialLearner] | type[OverlapLearner]:
    """The learner machine of the spec's architecture (adv*: OverlapLearner, else SerialLearner)."""
    return OverlapLearner if spec.architecture == "adv*" else SerialLearner


def new_learner(spec: ProtocolSpec) -> SerialLearner | OverlapLearner:
    """A learner machine for the spec, one answer expected from each of its shards."""
    return learner_class(spec)(spec.shards)
