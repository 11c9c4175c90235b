"""Property tests run torch on one thread: the ASE relaxations evaluate tiny cells, where
OpenMP threads only spin (measured 60× slower on this shared 2-core machine). The harmonic
spring crystal is registered as the potential ``"test-springs"`` for config-driven tests."""

import pytest
import torch

from mlmd.potential.registry import register_potential
from tests.properties.harmonic import Springs

register_potential("test-springs", lambda device: Springs().to(device), overwrite=True)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
