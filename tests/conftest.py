"""Shared test helpers."""

from __future__ import annotations

import os

# Keep numeric libraries to one thread: the suite runs on 2 shared cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
