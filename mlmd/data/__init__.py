"""Datasets of labelled structures (HDF5), ASE conversion and structure builders."""

from mlmd.data.frame import STATUSES, Frame, frame_key
from mlmd.data.store import Dataset

__all__ = ["STATUSES", "Dataset", "Frame", "frame_key"]
