"""Data set readers and generators, torch-free: each returns numpy arrays (train_x, train_y, test_x, test_y).

float32 inputs, int64 labels; models/dataset.py turns them into torch tensors.
"""
