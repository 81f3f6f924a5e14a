"""Linting several rulesets at once: shared out over the CPUs (forked workers), findings in input order."""

from __future__ import annotations

import multiprocessing
import os

from .checks import lint as run

# Below this many rules in all, rulesets are linted in this process (forking costs more than it saves).
PARALLEL_MIN_RULES = 2000
_JOB: tuple = ()  # (rulesets, inventory) for the forked workers, which inherit it


def _lint_one(k: int):
    rulesets, inv = _JOB
    return run(rulesets[k], inv)


def lint_each(rulesets: list, inv) -> list[list]:
    """The lint findings of each ruleset, in order; several rulesets are shared out over the CPUs (fork)."""
    global _JOB
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cpus, len(rulesets))
    if (
        workers < 2
        or sum(len(rs.rules) for rs in rulesets) < PARALLEL_MIN_RULES
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [run(rs, inv) for rs in rulesets]
    _JOB = (rulesets, inv)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_lint_one, range(len(rulesets)), chunksize=1)
    finally:
        _JOB = ()
