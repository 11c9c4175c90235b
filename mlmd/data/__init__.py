"""Datasets of labelled structures (HDF5), ASE conversion and structure builders."""

from mlmd.data.frame import STATUSES, Frame, frame_key

__all__ = ["STATUSES", "Frame", "frame_key"]
