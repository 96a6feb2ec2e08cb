"""What the user must fix is one line (LaunchError; `rudra train` prints it and exits 2), before anything starts."""
import socket

import pytest
import torch

from rudra.runtime import LaunchError, RuntimeSpec
from rudra.runtime.layout import Layout, shard_bounds
from rudra.runtime.wire import PUSH, Message

from .conftest import launch


def test_port_in_use(run_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(LaunchError, match=f"port {port} on 127.0.0.1 is in use"):
            launch(run_dir, runtime={"port": port})


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(run_dir):
    with pytest.raises(LaunchError, match="CUDA is not available"):
        launch(run_dir, runtime={"device": "cuda"})


def test_bad_device_and_fault_target(run_dir):
    assert RuntimeSpec(device="gpu").invalid()[0] == "device"
    assert RuntimeSpec(fault_after=9).invalid()[0] == "fault_after"
    with pytest.raises(LaunchError, match="runtime.device = 'tpu'"):
        launch(run_dir, runtime={"device": "tpu"})
    with pytest.raises(LaunchError, match="fault_target = 4: allowed a learner index 0..3"):
        launch(run_dir, runtime={"fault": "learner-exit", "fault_target": 4})


def test_resume_without_a_checkpoint(run_dir):
    run_dir.mkdir()
    with pytest.raises(LaunchError, match="no checkpoint"):
        launch(run_dir, resume=True)


def test_layout_roles_come_from_the_config():
    layout = Layout.of(shards=2, learners=3, server_ranks=(4, 1))
    assert layout.learners == (0, 2, 3)
    assert [layout.role(r) for r in range(5)] == [("learner", 0), ("server", 1), ("learner", 1), ("learner", 2),
                                                  ("server", 0)]
    with pytest.raises(LaunchError, match="server_ranks"):
        Layout.of(shards=2, learners=1, server_ranks=(0,))
    assert shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]


def test_a_message_is_one_tensor_with_its_header():
    m = Message(5)
    m.set(PUSH, 3, 7, 9, (1.5, 2.0, 3.0, 4.0), flag=1.0, value=0.25)
    assert m.ints() == (PUSH, 3, 7, 9) and m.times() == (1.5, 2.0, 3.0, 4.0)
    assert m.frame(5).numel() == m.buf.numel() and m.frame().numel() < m.buf.numel()
    n = m.set_text("learner 2 (rank 3) is gone")  # cut to what the payload holds: 20 bytes less a length
    assert m.text() == "learner 2 (rank " and m.frame(n).numel() == m.buf.numel()
