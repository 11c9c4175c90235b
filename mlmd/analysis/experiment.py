"""Experimental reference values for vitreous silica (SiO2 glass at ambient conditions).

The silica report marks these on its plots and compares them with the model in
``summary.json``. Each value carries its source.
"""

from __future__ import annotations

import math

#: Vitreous silica at room temperature and ambient pressure.
SILICA = {
    # R. Brückner, "Properties and structure of vitreous silica. I", J. Non-Cryst. Solids 5,
    # 123 (1970): 2.20 g/cm³ for ordinary vitreous silica.
    "density_g_cm3": {"value": 2.20, "source": "Brückner, J. Non-Cryst. Solids 5, 123 (1970)"},
    # Neutron diffraction: D. I. Grimley, A. C. Wright, R. N. Sinclair, J. Non-Cryst. Solids
    # 119, 49 (1990): r(Si–O) = 1.608 Å.
    "r_SiO_A": {
        "value": 1.61,
        "source": "Grimley, Wright & Sinclair, J. Non-Cryst. Solids 119, 49 (1990)",
    },
    # First sharp diffraction peak of the neutron S(Q) near 1.5 Å⁻¹: S. Susman et al.,
    # Phys. Rev. B 43, 1194 (1991); Grimley et al. (1990).
    "fsdp_Q_A-1": {
        "value": 1.5,
        "source": "Susman et al., Phys. Rev. B 43, 1194 (1991); Grimley et al. (1990)",
    },
    # Mean Si–O–Si angle: 144° from X-ray diffraction (R. L. Mozzi, B. E. Warren, J. Appl.
    # Cryst. 2, 164 (1969)); 147° from high-energy X-rays (J. Neuefeind, K.-D. Liss, Ber.
    # Bunsenges. Phys. Chem. 100, 1341 (1996)).
    "angle_SiOSi_deg": {
        "value": 145.5,
        "range": [144.0, 147.0],
        "source": "Mozzi & Warren, J. Appl. Cryst. 2, 164 (1969); "
        "Neuefeind & Liss, Ber. Bunsenges. Phys. Chem. 100, 1341 (1996)",
    },
    # Regular SiO4 tetrahedra: arccos(−1/3) = 109.47°, as the diffraction data give
    # (Mozzi & Warren 1969; Grimley et al. 1990).
    "angle_OSiO_deg": {
        "value": math.degrees(math.acos(-1.0 / 3.0)),
        "source": "tetrahedral angle; Mozzi & Warren (1969), Grimley et al. (1990)",
    },
    # A fully connected network of corner-sharing SiO4 tetrahedra at ambient pressure
    # (Mozzi & Warren 1969): every Si has four O neighbours.
    "sio4_fraction": {"value": 1.0, "source": "Mozzi & Warren, J. Appl. Cryst. 2, 164 (1969)"},
}


def is_silica(labels: list[str]) -> bool:
    """True for a system made of Si and O only (the silica report applies)."""
    return sorted(labels) == ["O", "Si"]


def compare_silica(model: dict[str, float | None]) -> dict[str, dict]:
    """{quantity: {"model", "experiment", "difference", "source"}} for the quantities the
    model has (keys of :data:`SILICA`; missing or None model values are left out)."""
    out = {}
    for key, ref in SILICA.items():
        value = model.get(key)
        if value is None:
            continue
        out[key] = {
            "model": float(value),
            "experiment": ref["value"],
            "difference": float(value) - ref["value"],
            "source": ref["source"],
        }
        if "range" in ref:
            out[key]["experiment_range"] = ref["range"]
    return out
