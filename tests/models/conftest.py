"""Shared settings for the models tests: two cores here, so torch uses at most two threads."""
import torch

torch.set_num_threads(2)
