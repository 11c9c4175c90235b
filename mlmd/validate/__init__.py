"""Validation of a trained potential against its reference (issue 12, notes/validation.md).

Public API: :func:`validate` (``mlmd validate``), :func:`report_lines` (markdown, verdict
first), :func:`aposteriori_errors` (per-phase single-point errors: the active-learning
stopping rule), :class:`ValidateConfig` and :func:`load_validate_config`; the building
blocks for campaigns that submit the MD themselves: :func:`plan_validation` (every run of a
validation), :func:`execute` (one run, resumable), :func:`validate` given the plan's runs
finished elsewhere, :func:`compare_state` (analysis and verdict rows of one state
point), :func:`verdict`.
"""

from mlmd.validate.aposteriori import aposteriori_errors, aposteriori_rows
from mlmd.validate.config import (
    APosterioriSpec,
    GlassSpec,
    LiquidSpec,
    MDSpec,
    Tolerances,
    ValidateConfig,
    load_validate_config,
)
from mlmd.validate.pipeline import compare_state, validate
from mlmd.validate.plan import plan_validation
from mlmd.validate.report import report_lines
from mlmd.validate.runs import MD_ENGINES, Run, execute, plan_runs
from mlmd.validate.verdict import verdict

__all__ = [
    "MD_ENGINES",
    "APosterioriSpec",
    "GlassSpec",
    "LiquidSpec",
    "MDSpec",
    "Run",
    "Tolerances",
    "ValidateConfig",
    "aposteriori_errors",
    "aposteriori_rows",
    "compare_state",
    "execute",
    "load_validate_config",
    "plan_runs",
    "plan_validation",
    "report_lines",
    "validate",
    "verdict",
]
