"""`mlmd train / evaluate / export` end to end, and the safe export round trip."""

import json
import subprocess
import sys

import torch

from mlmd.cli import main
from mlmd.data.build import sio2_crystal
from mlmd.data.convert import frame_to_atoms
from mlmd.potential import evaluate, graph_from_atoms
from mlmd.potential.registry import load_potential
from tests.cli_helpers import call_mlmd, call_on_terminal, run_on_terminal


def test_train_evaluate_export_round_trip(small_dataset, tmp_path, capsys):
    toml = tmp_path / "train.toml"
    toml.write_text(
        "[train]\nbatch_size = 3\nlr = 0.01\nsplit = [0.6, 0.2, 0.2]\n"
        "[train.model]\nspecies = [8, 14]\ncutoff_A = 4.0\nn_basis = 4\nchannels = 4\n"
        "hidden = [8]\n"
    )
    model_dir = tmp_path / "model"
    args = ["train", str(small_dataset), "-o", str(model_dir), "--config", str(toml)]
    assert main([*args, "--ensemble", "2", "--epochs", "1", "--device", "cpu"]) == 0
    assert main(["evaluate", str(model_dir), str(small_dataset), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{") :])
    assert report["n_members"] == 2 and report["forces_rmse"] > 0
    assert "spearman_max_std_vs_max_error" in report
    exported = tmp_path / "model.pt"
    assert main(["export", str(model_dir), "-o", str(exported)]) == 0
    written = exported.read_bytes()
    assert main(["export", str(model_dir), "-o", str(exported)]) == 2  # never replaced silently
    assert "already exists" in capsys.readouterr().err and exported.read_bytes() == written
    assert main(["export", str(model_dir), "-o", str(exported), "--overwrite"]) == 0

    atoms = frame_to_atoms(sio2_crystal("quartz"))
    atoms.rattle(0.05, seed=3)
    graph = graph_from_atoms([atoms], 4.0)
    a = evaluate(load_potential(model_dir), graph)
    b = evaluate(load_potential(exported), graph)
    assert torch.equal(a.energy, b.energy) and torch.equal(a.forces, b.forces)
    assert a.force_std is not None and torch.equal(a.force_std, b.force_std)

    code = (
        "import sys, torch\n"
        "from mlmd.potential import load_potential\n"
        f"m = load_potential({str(exported)!r})\n"
        "assert m.n_members == 2\n"
        "assert not any(k.startswith('mlmd.train') for k in sys.modules), 'training imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_config_key_exits_with_code_2(small_dataset, tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text("[train]\nlearning_rate = 0.1\n")
    code = main(["train", str(small_dataset), "-o", str(tmp_path / "m"), "--config", str(toml)])
    assert code == 2
    assert "learning_rate" in capsys.readouterr().err


def test_export_of_an_empty_directory_exits_with_code_2(tmp_path, capsys):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "x.pt")]) == 2
    assert "mlmd train" in capsys.readouterr().err


def test_train_and_evaluate_show_a_bar_on_a_terminal_only(small_dataset, tmp_path):
    toml = tmp_path / "train.toml"
    toml.write_text(
        "[train]\nbatch_size = 3\nsplit = [0.6, 0.2, 0.2]\n"
        "[train.model]\nspecies = [8, 14]\ncutoff_A = 3.5\nn_basis = 3\nchannels = 2\n"
        "hidden = [4]\n"
    )
    model = tmp_path / "model"
    train = ["train", small_dataset, "-o", model, "--config", toml, "--epochs", "2"]
    rc, err = run_on_terminal(*train)
    assert rc == 0, err
    assert "train[member 0]" in err and "ETA" in err and "6/6 100%" in err  # 2 epochs × 3
    # the rest in this process (no torch import each): the same main, the same terminal test
    rc, err = call_on_terminal("evaluate", model, small_dataset)
    assert rc == 0 and "evaluate [" in err and "12/12 100%" in err, err
    rc, err = call_on_terminal("evaluate", model, small_dataset, "--json")
    assert rc == 0 and "evaluate [" not in err and "ETA" not in err, err
    piped = call_mlmd(*train[:3], tmp_path / "m2", *train[4:])
    assert piped.returncode == 0 and "ETA" not in piped.stderr, piped.stderr
