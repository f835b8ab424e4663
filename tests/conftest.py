"""Shared pytest settings: deterministic, single-threaded torch for small networks."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch-free tests still run
    pass
