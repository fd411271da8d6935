"""The blueprints the job app loads: a domain's jobs run once its blueprint is listed here.

Each entry is "module:attribute" of a procrastinate Blueprint; adding one is one line. Task
names are used as declared (no namespace prefix): declare them `name="<domain>.<task>"`, and
defer them by that name. Two blueprints declaring the same name fail at load.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import procrastinate

from neobank.workers.queue import job_app

__all__ = ["BLUEPRINTS", "is_known_task", "load_blueprints"]

BLUEPRINTS: tuple[str, ...] = (
    "neobank.workers.maintenance:blueprint",
    "neobank.onboarding.jobs:blueprint",
    "neobank.lending.application_jobs:blueprint",
    "neobank.lending.cob_jobs:blueprint",
)

_loaded: set[str] = set()


def load_blueprints(paths: Iterable[str] = BLUEPRINTS) -> procrastinate.App:
    """Register every listed blueprint on the job app (once; later calls are cheap)."""
    for path in paths:
        if path in _loaded:
            continue
        module_name, _, attribute = path.partition(":")
        blueprint = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(blueprint, procrastinate.Blueprint):
            raise TypeError(f"{path} is not a procrastinate Blueprint")
        job_app.add_tasks_from(blueprint, namespace="")
        _loaded.add(path)
    return job_app


def is_known_task(name: str) -> bool:
    """Whether a worker would find this task (procrastinate's builtins included)."""
    if name in job_app.tasks:
        return True
    load_blueprints()
    return name in job_app.tasks
