"""report_lines (the campaign report's table) and write_curve (.dat + PNG)."""

import numpy as np

from mlmd.properties.report import SILICA_EXPERIMENT, report_lines, write_curve

SUMMARY = {
    "viscosity": {
        "points": [
            {"temperature_K": 3500.0, "sampled_ps": 400.0, "log10_Pa_s": -1.40, "log10_error": 0.09}
        ]
    },
    "bulk_modulus": {
        "fluctuations": {"value": 38.2, "error": 2.1},
        "pv_scan": {"value": 37.1, "error": 0.4},
    },
    "elastic": {"moduli_GPa": {"K_hill": 36.9, "G_hill": 30.2}},
    "thermal_expansion": {"value": 1.1e-6, "error": 2.0e-6},
    "density_curve": {"maximum": {"value": 4200.0, "error": 300.0, "resolved": False}},
    "glass_transition": {
        "enthalpy": {"tg_K": 2710.0, "tg_err_K": 85.0, "resolved": True},
        "density": {"tg_K": 2300.0, "tg_err_K": 900.0, "resolved": False},
    },
    "crystals": {
        "structures": {
            "quartz": {"a_A": 5.046, "c_A": 5.365, "density_g_cm3": 2.53,
                       "vs_reference": {"max_abs_lattice_rel": 1e-7}}
        }
    },
}  # fmt: skip


def test_report_lines_beside_experiment():
    lines = report_lines(SUMMARY)
    text = "\n".join(lines)
    assert lines[0].startswith("| property | model |") and len(lines) == 2 + 9 + 1
    assert "| log₁₀ η at 3500 K (400 ps) | -1.40 ± 0.09 | log10(Pa s) | -0.2 ± 0.3 |" in text
    assert "| K (NPT volume fluctuations) | 38.2 ± 2.1 | GPa | 36.5 ± 0.5 |" in text
    assert "| volumetric thermal expansion α_V | 1.1e-06 ± 2e-06 | 1/K | 1.5e-06 ± 3e-07 |" in text
    assert "| T_g from the kink of H(T) | 2710 ± 85 | K |" in text
    # unresolved results are not printed as numbers
    assert "| T_g from the kink of ρ(T) | — |" in text
    assert "| T of the density maximum | — |" in text
    assert "quartz: a, c, ρ | 5.0460 Å, 5.3650 Å, 2.5300 g/cm³ (largest lattice" in text
    assert all(line.count("|") == 6 for line in lines)  # no stray pipes break the table


def test_report_lines_with_another_experiment_table():
    exp = {"bulk_modulus_GPa": {"value": 40.0, "uncertainty": 1.0, "source": "mine"}}
    text = "\n".join(report_lines({"bulk_modulus": SUMMARY["bulk_modulus"]}, exp))
    assert (
        "40.0 ± 1.0 | mine |" in text
        and SILICA_EXPERIMENT["bulk_modulus_GPa"]["source"] not in text
    )


def test_write_curve(tmp_path):
    x = np.linspace(0, 1, 5)
    files = write_curve(
        tmp_path / "sub" / "c",
        {"x_K": x, "y_eV": x**2, "y_eV_err": 0.1 + 0 * x},
        title="t",
        ylabel="y",
        lines={"fit": (x, x)},
    )
    data = np.loadtxt(files["dat"])
    assert data.shape == (5, 3) and np.allclose(data[:, 1], x**2)
    assert open(files["dat"]).readline().startswith("# t")
    assert open(files["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
