import torch

# Two cores: keep intra-op threads fixed so timings and results do not depend on the runner.
torch.set_num_threads(2)
