"""Named quantities against a caller's experiment table, for any species."""

import pytest

from mlmd.analysis import compare, coordination_fraction, mean_angle, report_lines, resolve
from mlmd.analysis.species import split_species

SUMMARY = {
    "window": {"kind": "segment", "start_ps": 30.0, "end_ps": 40.0, "frames": 21},
    "system": {"species": {"Zr": 36, "Cu": 64}, "density_g_cm3": {"mean": 7.4}},
    "rdf": {"partials": {"Zr-Cu": {"first_peak_A": 2.75}}},
    "coordination": {"Cu-Zr": {"mean": 4.5, "distribution": {"4": 0.4, "5": 0.6}}},
    "angles": {"Cu-Zr-Cu": {"mean_deg": 60.0}},
    "voronoi": {"centres": {"Cu": {"icosahedral_fraction": 0.12}}},
    "msd": {"species": {"Cu": {"D_cm2_per_s": 1e-5}}},
}


def test_names_are_read_against_the_species():
    assert split_species("CuZr", ["Zr", "Cu"]) == ["Cu", "Zr"]
    assert split_species("sio", ["Si", "O"]) == ["Si", "O"]  # case-insensitive fallback
    assert split_species("CO", ["C", "O", "Co"]) == ["C", "O"]  # exact case wins
    assert split_species("co", ["C", "O", "Co"]) is None  # C+O or Co: ambiguous
    assert resolve(SUMMARY, "r_CuZr_A") == (2.75, "")  # either order of the pair
    assert resolve(SUMMARY, "CuZr5_fraction") == (0.6, "")
    assert resolve(SUMMARY, "CuZr3_fraction") == (0.0, "")
    assert resolve(SUMMARY, "angle_CuZrCu_deg") == (60.0, "")
    assert resolve(SUMMARY, "icosahedral_Cu_fraction") == (0.12, "")
    assert resolve(SUMMARY, "D_Cu_cm2_s") == (1e-5, "")
    assert resolve(SUMMARY, "density_g_cm3") == (7.4, "")
    assert resolve(SUMMARY, "r_SiO_A") == (None, "not an analysis quantity")
    assert resolve(SUMMARY, "fsdp_Q_A-1") == (None, "not computed in this analysis")
    assert coordination_fraction(SUMMARY, "Cu", "Zr", 4) == 0.4
    assert mean_angle(SUMMARY, "Cu", "Zr", "Cu") == 60.0


def test_compare_names_the_window_and_what_it_could_not():
    rows, missing = compare(
        SUMMARY,
        {
            "icosahedral_Cu_fraction": {"value": 0.2, "uncertainty": 0.05, "source": "x"},
            "glass_transition_K": {"value": 787.0, "source": "Xu et al. (2004)"},
        },
    )
    assert rows["icosahedral_Cu_fraction"]["difference"] == pytest.approx(-0.08)
    assert rows["icosahedral_Cu_fraction"]["window"]["frames"] == 21
    assert missing == ["glass_transition_K: not an analysis quantity"]
    lines = report_lines({**SUMMARY, "comparison": rows})
    assert "segment 30–40 ps, 21 frames" in "\n".join(lines)
