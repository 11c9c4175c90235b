"""Potentials: the graph, the contract (energy → forces, virial), neighbour lists, models."""

from mlmd.potential.calculator import MlmdCalculator
from mlmd.potential.contract import Evaluation, Potential, evaluate
from mlmd.potential.graph import Graph, graph_from_arrays, graph_from_atoms, graph_from_frames
from mlmd.potential.neighbours import neighbour_list
from mlmd.potential.registry import (
    load_potential,
    potential_names,
    register_path_loader,
    register_potential,
)
from mlmd.potential.vashishta import Vashishta

__all__ = [
    "Evaluation",
    "Graph",
    "Potential",
    "evaluate",
    "graph_from_arrays",
    "graph_from_atoms",
    "graph_from_frames",
    "neighbour_list",
    "load_potential",
    "potential_names",
    "register_path_loader",
    "register_potential",
    "Vashishta",
    "MlmdCalculator",
]
