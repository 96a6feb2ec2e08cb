"""Who is who: global ranks of the shard servers and learners, and each shard's slice of the flat buffer.

Every process derives the same layout from the config alone: `server_ranks`
(default: the first `shards` ranks) hold shards 0..S-1; the remaining ranks,
in ascending order, are learners 0..λ-1. Rank 0 is special only to rendezvous
(it hosts the store); shard 0 writes the trace wherever it lives.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import LaunchError


@dataclass(frozen=True)
class Layout:
    """Ranks of the S shard servers and λ learners in a world of S + λ processes."""

    servers: tuple[int, ...]
    learners: tuple[int, ...]

    @classmethod
    def of(cls, shards: int, learners: int, server_ranks: tuple[int, ...] = ()) -> Layout:
        world = shards + learners
        servers = tuple(server_ranks) or tuple(range(shards))
        if len(servers) != shards:
            raise LaunchError(f"runtime.server_ranks = {list(servers)}: expected {shards} ranks (protocol.shards)")
        if max(servers) >= world:
            raise LaunchError(f"runtime.server_ranks = {list(servers)}: ranks must be below the world size {world} "
                              f"(shards {shards} + learners {learners})")
        return cls(servers, tuple(r for r in range(world) if r not in servers))

    @property
    def world(self) -> int:
        return len(self.servers) + len(self.learners)

    def role(self, rank: int) -> tuple[str, int]:
        """("server", shard) or ("learner", learner index) of `rank`."""
        if rank in self.servers:
            return "server", self.servers.index(rank)
        return "learner", self.learners.index(rank)

    def name(self, rank: int) -> str:
        """How messages name a rank, e.g. "learner 2 (rank 3)"."""
        role, index = self.role(rank)
        return f"{'server shard' if role == 'server' else 'learner'} {index} (rank {rank})"


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """[start, stop) of each shard's slice of an n-element buffer; sizes differ by at most one, largest first."""
    base, extra = divmod(n, shards)
    bounds, start = [], 0
    for s in range(shards):
        stop = start + base + (s < extra)
        bounds.append((start, stop))
        start = stop
    return bounds
