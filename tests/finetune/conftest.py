"""Training tests run single-threaded: the tiny tensors gain nothing from threads, and on a shared
machine OpenMP threads waiting on each other make them many times slower."""

import torch

torch.set_num_threads(1)
