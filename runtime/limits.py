"""What a run needs of this machine, judged from the config before any process starts or data is loaded.

Threads per process at most the CPUs here; a minibatch no larger than the
training set; a net that can take the data's inputs; a test set to evaluate
on; and memory: every process of a local run holds its own copies, so the
estimate adds up (per learner) the weights, gradient and message buffers and
the data set, (per shard) the weights while building them, its slice's
optimizer and receive buffers, and shard 0 the data set, plus the processes'
own footprint. Each refusal is one line naming the setting to change.
"""
from __future__ import annotations

import math
import os

from rudra.models.build import input_problem
from rudra.models.errors import DatasetError
from rudra.models.size import BYTES_PER_PARAMETER, data_bytes, data_shape, no_test_set, spec_parameter_count, \
    split_sizes
from rudra.models.spec import DataSpec, ModelSpec
from rudra.protocol import ProtocolSpec, TrainSpec

from .errors import LaunchError
from .spec import RuntimeSpec

# Private memory of one process forked from the launcher's forkserver, measured with psutil's USS during an async
# λ = 4 mlp run on digits: learners ≈ 25 MB, shard 0 ≈ 170 MB (optimizer, evaluation), the forkserver ≈ 225 MB.
# Rounded up: the estimate must not refuse what runs, and the model and data terms come on top.
LEARNER_BYTES = 64 * 2**20
SERVER_BYTES = 256 * 2**20
FORKSERVER_BYTES = 256 * 2**20


def check_machine(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, runtime: RuntimeSpec,
                  local: bool) -> None:
    """LaunchError (DatasetError for the data) for the first thing this machine cannot run, before loading;
    memory only when `local` (under torchrun this machine runs only some of the processes)."""
    cpus = os.cpu_count() or 1
    if runtime.threads > cpus:
        raise LaunchError(f"runtime.threads = {runtime.threads}: allowed 1 <= threads <= {cpus} "
                          "(the CPUs of this machine; each process computes with that many)")
    split = split_sizes(data)
    if not split.test:
        raise DatasetError(no_test_set(data))
    if train.minibatch > split.train:
        raise LaunchError(f"train.minibatch = {train.minibatch}: allowed at most the training set, "
                          f"N = {split.train} samples")
    shape, classes = data_shape(data)
    problem = input_problem(model, shape, classes)
    if problem:
        raise LaunchError(f"model.name = {model.name!r}: cannot take {'×'.join(map(str, shape))} inputs ({problem})")
    if local:
        _check_memory(protocol, model, data, shape, classes)


def _check_memory(protocol: ProtocolSpec, model: ModelSpec, data: DataSpec, shape: tuple[int, ...],
                  classes: int) -> None:
    lam, shards = protocol.learners, protocol.shards
    weights = BYTES_PER_PARAMETER * spec_parameter_count(model, shape, classes)
    slice_ = weights / shards
    held = {  # bytes the run holds, by the setting that drives them
        "processes": lam * LEARNER_BYTES + shards * SERVER_BYTES + FORKSERVER_BYTES,
        # learner: weights, gradient, replies, pushes; shard: the whole model while built, then its slice's
        # weights, momentum and gradient plus one receive buffer per learner and per buffered gradient (≤ λ)
        "model": lam * 4 * weights + shards * (2 * weights + slice_ * (3 + 2 * lam)),
        "data": (lam + 2) * data_bytes(data),  # every learner, shard 0 and the launcher load it
    }
    need, free = sum(held.values()), available_memory()
    if need <= free:
        return
    field, value = {"processes": ("protocol.learners", lam), "model": _model_field(model),
                    "data": _data_field(data)}[max(held, key=held.get)]
    raise LaunchError(f"{field} = {value!r}: the run would need about {_bytes(need)} of memory ({lam} learners "
                      f"and {shards} server shard(s), each holding its own copies: {_bytes(held['model'])} for the "
                      f"model, {_bytes(held['data'])} for the data); this machine has {_bytes(free)} available")


def _model_field(model: ModelSpec) -> tuple[str, object]:
    if model.name == "mlp":
        return "model.hidden", list(model.hidden)
    if model.name in ("small_cnn", "alexnet_style"):
        return "model.width", model.width
    return "model.name", model.name


def _data_field(data: DataSpec) -> tuple[str, object]:
    if data.name == "synthetic":
        return "data.samples", data.samples
    return "data.name", data.name


def available_memory() -> int:
    """Bytes of memory available to new processes: MemAvailable from /proc/meminfo, else free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _bytes(n: float) -> str:
    """e.g. 6.4 TB, 310 MB (decimal units)."""
    exponent = min(int(math.log10(max(n, 1)) // 3), 5)
    return f"{n / 1000 ** exponent:.3g} {['B', 'kB', 'MB', 'GB', 'TB', 'PB'][exponent]}"
