"""The Parsl apps: each binds one function of :mod:`apps.tasks` to the executor of its workload.

Executors are labelled by workload (``dft``, ``train``, ``md``, ``analysis``; see
:mod:`apps.parsl_config`). Exploration is many short single-process MD runs with the
ensemble, so it runs where training runs (the GPU workers on a cluster).
"""

from parsl import bash_app, python_app

from apps import tasks

start_frames = python_app(tasks.start_frames, executors=["analysis"])
structures = python_app(tasks.structures, executors=["analysis"])
label = python_app(tasks.label, executors=["dft"])
train_member = python_app(tasks.train_member, executors=["train"])
explore = python_app(tasks.explore, executors=["train"])
reference_md = python_app(tasks.reference_md, executors=["train"])  # MD: where training runs
select = python_app(tasks.select, executors=["analysis"])
merge = python_app(tasks.merge, executors=["analysis"])
md = bash_app(tasks.md_command, executors=["md"])
analyze = python_app(tasks.analyze, executors=["analysis"])
check_round = python_app(tasks.check_round, executors=["dft"])
# the validation: planned and finished where its reference is built (with part (b), where
# training runs; DFT single points only, on the dft workload), each MD run where training runs
validate_plan = python_app(tasks.validate_plan, executors=["train"])
validate_plan_dft = python_app(tasks.validate_plan, executors=["dft"])
validate_run = python_app(tasks.validate_run, executors=["train"])
validate = python_app(tasks.validate, executors=["train"])
validate_dft = python_app(tasks.validate, executors=["dft"])
properties = bash_app(tasks.properties_command, executors=["md"])

__all__ = [
    "analyze",
    "check_round",
    "explore",
    "label",
    "md",
    "merge",
    "properties",
    "reference_md",
    "select",
    "start_frames",
    "structures",
    "train_member",
    "validate",
    "validate_dft",
    "validate_plan",
    "validate_plan_dft",
    "validate_run",
]
