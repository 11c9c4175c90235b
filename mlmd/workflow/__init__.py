"""Campaign bookkeeping without Parsl: content-hashed steps, live stage status, reports."""

from mlmd.workflow.status import CampaignStatus
from mlmd.workflow.steps import StepStore, file_digest, step_key

__all__ = ["CampaignStatus", "StepStore", "file_digest", "step_key"]
