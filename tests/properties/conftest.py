"""Property tests run torch on one thread: the ASE relaxations evaluate tiny cells, where
OpenMP threads only spin (measured 60× slower on this shared 2-core machine)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
