"""Shared pytest setup: keep torch to one thread so tests stay predictable on 2 cores."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
