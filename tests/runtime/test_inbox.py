"""The server's inbox over real gloo: its buffer pool is sized from what the server keeps, and a receive never
blocks without a deadline.

Two processes: rank 1 sends numbered messages, rank 0 takes them from an
Inbox and keeps every one (as a protocol keeps buffered gradients), never
giving a buffer back. With `kept` covering them all, every message arrives,
far more than the old λ + 2 spare; with fewer, the receive that finds no free
buffer reports Starved, one line, once the timeout passes: it does not hang.
"""
import os
from datetime import timedelta

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from .conftest import check_trace, launch, specs

FLOATS, SENT, TIMEOUT = 16, 12, 1.0


def _join(port: int, rank: int) -> None:
    store = dist.TCPStore("127.0.0.1", port, None, False, timedelta(seconds=60))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2, timeout=timedelta(seconds=30))


def _sender(port: int) -> None:
    from rudra.runtime.wire import PUSH, Message
    _join(port, 1)
    msg = Message(FLOATS)
    try:
        for k in range(SENT):
            dist.send(msg.set(PUSH, 0, k).frame(FLOATS), 0)
    except RuntimeError:
        pass  # the receiver left without taking the rest
    os._exit(0)


def _receiver(port: int, kept: int, report) -> None:
    from rudra.runtime.inbox import Inbox
    from rudra.runtime.wire import Message
    _join(port, 0)
    inbox = Inbox([1], FLOATS, kept=kept, timeout=TIMEOUT)
    got, item = [], None
    while len(got) < SENT:
        item = inbox.get(60.0)  # far past TIMEOUT: only a receive that blocks for good gets here
        if type(item) is not Message:
            break
        got.append(item.ints()[2])  # kept: never released
    report.send((got, inbox.pool, None if type(item) is Message else (type(item).__name__, str(item))))
    os._exit(0)  # a receive may still be pending in a gloo thread: no interpreter teardown


def _run(kept: int):
    ctx = mp.get_context("spawn")
    store = dist.TCPStore("127.0.0.1", 0, None, True, timedelta(seconds=60), wait_for_workers=False)
    reader, writer = ctx.Pipe(duplex=False)  # a pipe's send is done when it returns; a Queue's is not
    procs = [ctx.Process(target=_receiver, args=(store.port, kept, writer)),
             ctx.Process(target=_sender, args=(store.port,))]
    for p in procs:
        p.start()
    try:
        assert reader.poll(120), "the receiver reported nothing"
        return reader.recv()
    finally:
        for p in procs:
            p.join(30)
            if p.exitcode is None:
                p.kill()


@pytest.mark.slow
def test_a_pool_sized_for_what_the_server_keeps_takes_every_message():
    """One sender, ten kept: the old pool (1 receiving + λ + 2 = 4 for λ = 1) would have stopped at 4."""
    got, pool, last = _run(kept=SENT - 2)
    assert pool == SENT and got == list(range(SENT)) and last is None


@pytest.mark.slow
def test_a_full_pool_is_one_line_after_the_timeout_not_a_hang():
    got, pool, (kind, text) = _run(kept=2)
    assert pool == 4 and got == list(range(4))
    assert kind == "Starved" and "\n" not in text and "no receive buffer came free within 1 s" in text


@pytest.mark.slow
def test_a_run_whose_shards_keep_the_most_messages_finishes(run_dir):
    """softsync n = 1 keeps up to c − 1 = λ − 1 gradients per shard; adv* learners push on while shard 0
    evaluates (here at every update), so its queue fills too. Two shards, complete trace."""
    changes = dict(protocol={"name": "softsync", "n": 1, "architecture": "adv*", "shards": 2},
                   runtime={"eval_every": 0.1})
    summary = launch(run_dir, **changes)
    s = specs(**changes)
    tables = check_trace(run_dir, s["protocol"], s["train"], 256)
    assert summary["runtime"]["shards"] == 2 and (tables["updates.csv"].n_gradients == 4).all()
    assert tables["metrics.csv"].epoch.tolist() == [k / 8 for k in range(9)]  # an update is 4/32 of an epoch
