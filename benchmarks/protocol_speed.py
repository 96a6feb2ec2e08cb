"""Protocol decisions per second, async and 30-softsync, λ ∈ {8, 1024, 16384}.

Drives ParameterServer directly (no simulator, no I/O) with a round-robin
cluster: each step is one push and one pull. The rate must not fall as λ
grows: no per-update work may be proportional to λ. The ratio column compares
events/s (a push or a pull) with λ = 8; decisions/s also counts Update decisions,
which 30-softsync makes once per c = ⌊λ/30⌋ gradients.
Run: python benchmarks/protocol_speed.py [--gradients N]
"""
from __future__ import annotations

import argparse
import time

from rudra.protocol import ParameterServer, ProtocolSpec, Send


def rate(spec: ProtocolSpec, gradients: int) -> tuple[float, float]:
    """(events/s, decisions/s) over `gradients` push+pull cycles after every learner's first pull."""
    server = ParameterServer(spec)
    lam = spec.learners
    held = [server.pull(l)[0].version for l in range(lam)]
    push, pull = server.push, server.pull
    decisions = 0
    t0 = time.perf_counter()
    for k in range(gradients):
        l = k % lam
        out = push(l, held[l])
        got = pull(l)
        decisions += len(out) + len(got)
        d = got[0]
        held[l] = d.version if type(d) is Send else held[l]
    dt = time.perf_counter() - t0
    return 2 * gradients / dt, decisions / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gradients", type=int, default=300_000)
    args = ap.parse_args()
    print(f"{'protocol':<14}{'λ':>7}{'events/s':>12}{'decisions/s':>14}{'vs λ=8':>9}")
    for label, make in [("async", lambda lam: ProtocolSpec(name="async", learners=lam)),
                        ("30-softsync", lambda lam: ProtocolSpec(name="softsync", learners=lam, n=min(30, lam)))]:
        base = None
        for lam in (8, 1024, 16384):
            ev, dec = rate(make(lam), max(args.gradients, 2 * lam))
            base = base or ev
            print(f"{label:<14}{lam:>7}{ev:>12,.0f}{dec:>14,.0f}{ev / base:>8.2f}×")


if __name__ == "__main__":
    main()
