"""Training of the flagship potential: config, batching, loss, loop, metrics, plots, CLI."""

from mlmd.train.config import TrainConfig
from mlmd.train.loop import train_member

__all__ = ["TrainConfig", "train_member"]
