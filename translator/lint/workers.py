"""Linting several rulesets at once: shared out over the CPUs (forked workers), findings in input order."""

from __future__ import annotations

import multiprocessing
import os
import signal

from .. import pool
from .checks import lint as run

# Below this many rules in all, rulesets are linted in this process (forking costs more than it saves).
PARALLEL_MIN_RULES = 2000
_JOB: tuple = ()  # (rulesets, inventory) for the forked workers, which inherit it


def _worker_signals() -> None:
    """A forked worker leaves Ctrl-C and SIGTERM to the parent, which stops the pool: it ignores SIGINT and
    dies of SIGTERM (the pool's terminate) instead of running the CLI's handler, inherited by fork, which
    raised Terminated in it and printed a worker's traceback on stderr (as batch's workers do)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
    found: dict[int, list] = {}
    try:
        for k, status, value in pool.run(_lint_one, range(len(rulesets)), workers, _worker_signals):
            if status != "ok":  # a worker that died (as an out-of-memory kill): linted here instead
                value = run(rulesets[k], inv)
            found[k] = value
    finally:
        _JOB = ()
    return [found[k] for k in range(len(rulesets))]
