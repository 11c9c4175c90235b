"""Datasets of labelled structures (HDF5), ASE conversion and structure builders.

Public API: :class:`Dataset` (the HDF5 store), :class:`Frame` and :func:`frame_key`,
ASE conversion (:func:`frame_from_atoms`, :func:`frame_to_atoms`, :class:`LabelKeys`),
extxyz files (:func:`read_extxyz`, :func:`write_extxyz`), elements (:func:`atomic_numbers`,
:func:`dataset_species`), whole-file operations (:func:`merge_datasets`,
:func:`dedupe_dataset`, :func:`write_frames`, :func:`summary`) and SiO2 builders
(:func:`random_sio2`, :func:`sio2_crystal`).
"""

from mlmd.data.build import SIO2_MIN_DIST, random_sio2, sio2_crystal
from mlmd.data.convert import LabelKeys, frame_from_atoms, frame_to_atoms
from mlmd.data.extxyz import read_extxyz, write_extxyz
from mlmd.data.frame import STATUSES, Frame, frame_key
from mlmd.data.ops import dedupe_dataset, dedupe_indices, merge_datasets, summary, write_frames
from mlmd.data.species import atomic_numbers, dataset_species
from mlmd.data.store import Dataset

__all__ = [
    "SIO2_MIN_DIST",
    "LabelKeys",
    "atomic_numbers",
    "dataset_species",
    "STATUSES",
    "Dataset",
    "Frame",
    "dedupe_dataset",
    "dedupe_indices",
    "frame_from_atoms",
    "frame_key",
    "frame_to_atoms",
    "merge_datasets",
    "random_sio2",
    "read_extxyz",
    "sio2_crystal",
    "summary",
    "write_extxyz",
    "write_frames",
]
