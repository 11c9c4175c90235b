"""Inference speed of mlmd's flagship model vs MACE on the same SiO2 structures.

    nice .venv/bin/python benchmarks/bench_mace.py [--mace-python benchmarks/.venv-mace/bin/python]

MACE needs its own venv (mace-torch 0.3.16 pins e3nn 0.4.4; mlmd's venv has e3nn 0.6)::

    python3 -m venv benchmarks/.venv-mace
    benchmarks/.venv-mace/bin/pip install torch==2.13.0 mace-torch

Both models are untrained (speed does not depend on the weights) and sized as used in
practice: mlmd as in ``bench_model.MODEL`` (float32), MACE with 2 interactions, 64x0e+64x1o
hidden irreps, max_ell 3, correlation 3, r_max 5 Å (MACE-small-like), float32. Time is
median CPU seconds of energy + forces with one thread (robust on a shared machine).
The accuracy side (both trained on the same data for the same time) is not run here: it needs
a MACE training run of the same CPU budget as ``bench_model.py`` (≈ 30 CPU-minutes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase.io import write

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_model import MODEL  # noqa: E402

from mlmd.data.build import random_sio2  # noqa: E402
from mlmd.data.convert import frame_to_atoms  # noqa: E402
from mlmd.potential import evaluate, graph_from_atoms  # noqa: E402
from mlmd.potential.model import BodyOrderPotential  # noqa: E402

MACE_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
# e3nn 0.4.4 torch.load()s its shipped constants.pt, which holds `slice` objects: torch 2.13
# loads weights_only by default, so allow that one builtin (no code execution involved).
torch.serialization.add_safe_globals([slice])
from ase.io import read
from e3nn import o3
from mace import data, modules, tools
from mace.tools import torch_geometric
torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
z_table = tools.AtomicNumberTable([8, 14])
model = modules.ScaleShiftMACE(
    r_max=5.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=3,
    interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
    interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
    num_interactions=2, num_elements=2, hidden_irreps=o3.Irreps("64x0e + 64x1o"),
    MLP_irreps=o3.Irreps("16x0e"), gate=torch.nn.functional.silu,
    atomic_energies=np.array([-4.0, -7.0]), avg_num_neighbors=30.0,
    atomic_numbers=[8, 14], correlation=3, atomic_inter_scale=1.0, atomic_inter_shift=0.0,
)
out = {}
for atoms in read(sys.argv[1], ":"):
    config = data.config_from_atoms(atoms)
    ad = data.AtomicData.from_config(config, z_table=z_table, cutoff=5.0)
    loader = torch_geometric.dataloader.DataLoader([ad], batch_size=1, shuffle=False)
    batch = next(iter(loader)).to_dict()
    times = []
    for k in range(7):
        b = {key: (v.clone() if torch.is_tensor(v) else v) for key, v in batch.items()}
        t = time.process_time()
        model(b, training=False, compute_force=True)
        if k >= 2:
            times.append(time.process_time() - t)
    out[len(atoms)] = float(np.median(times))
print(json.dumps(out))
"""


def ours(atoms_list: list) -> dict[int, float]:
    torch.set_num_threads(1)
    model = BodyOrderPotential(MODEL)
    out = {}
    for atoms in atoms_list:
        graph = graph_from_atoms([atoms], MODEL.cutoff_A)
        times = []
        for k in range(7):
            t = time.process_time()
            evaluate(model, graph, virial=False)
            if k >= 2:
                times.append(time.process_time() - t)
        out[len(atoms)] = float(np.median(times))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mace-python", default="benchmarks/.venv-mace/bin/python")
    ap.add_argument("--sizes", type=int, nargs="+", default=[192, 1536])
    args = ap.parse_args(argv)
    atoms_list = [frame_to_atoms(random_sio2(n, 2.2, seed=3)) for n in args.sizes]
    result: dict = {"sizes": args.sizes, "mlmd_cpu_s": ours(atoms_list)}
    if not Path(args.mace_python).is_file():
        result["mace"] = f"not installed: {args.mace_python} missing (see module docstring)"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            xyz = Path(tmp) / "structures.xyz"
            write(xyz, atoms_list)
            run = subprocess.run([args.mace_python, "-c", MACE_SCRIPT, str(xyz)],
                                 capture_output=True, text=True)  # fmt: skip
        if run.returncode != 0:
            result["mace"] = f"failed: {run.stderr.strip().splitlines()[-1:]}"
        else:
            mace = {int(k): v for k, v in json.loads(run.stdout.strip().splitlines()[-1]).items()}
            result["mace_cpu_s"] = mace
            result["mace_over_mlmd_time"] = {n: mace[n] / result["mlmd_cpu_s"][n] for n in mace}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
