"""Bounds on the work fw2np does for one input (hostile files must not hang it).

Each bound can be raised with an environment variable; hitting one is an
InputError (exit 2) that names the bound and the variable.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from contextlib import contextmanager

from .errors import InputError, Loc

# nesting of YAML/JSON collections (a real export needs fewer than 20 levels)
MAX_DEPTH = 64
# YAML nodes after expanding aliases ("billion laughs" documents)
MAX_YAML_NODES = 1_000_000
# wall-clock seconds for one fw2np command (0: no limit)
TIME_LIMIT = 600
# lines of one ruleset-language input (memory grows with rules; 0: no limit)
MAX_LINES = 250_000
# the longest chain of group references (`address g2 g1`, `address g1 g0`: 2); real configurations
# nest a few levels, and every reader of the groups (resolver, evaluators) stays within reach
MAX_GROUP_DEPTH = 64
# iptables rule lines walked while following jumps, over every (chain, match carried in) (0: no limit)
MAX_JUMP_VISITS = 1_000_000
# address ranges the non-contiguous masks of one Cisco access list may expand to (each such mask gives up
# to 2**bits ranges and convert time grows faster than their number: 50,000 took 16 s; 0: no limit)
MAX_WILDCARD_RANGES = 20_000


_ASCII_DIGITS = re.compile(r"[0-9]+")


def bound(name: str, default: int) -> int:
    """The bound NAME: env FW2NP_<NAME> (ASCII digits 0-9, blanks around them allowed), DEFAULT
    when unset or empty; any other value is an InputError naming the variable (never ignored: a
    bound the user meant to set must not silently fall back to the default)."""
    var = f"FW2NP_{name}"
    raw = os.environ.get(var, "").strip(" \t\r\n")
    if not raw:
        return default
    if not _ASCII_DIGITS.fullmatch(raw) or len(raw) > 18:
        shown = ascii(raw[:40]) + ("..." if len(raw) > 40 else "")
        raise InputError(f"environment variable {var}={shown} is not a whole number (ASCII digits 0-9, at most 18)")
    return int(raw)


def check_all() -> None:
    """Refuse a malformed bound before any work (a bound is otherwise read only where it applies):
    every FW2NP_MAX_* variable and FW2NP_TIME_LIMIT."""
    for var in sorted(os.environ):
        if var.startswith("FW2NP_MAX_") or var == "FW2NP_TIME_LIMIT":
            bound(var[len("FW2NP_") :], 0)


def max_depth() -> int:
    return bound("MAX_DEPTH", MAX_DEPTH)


def max_yaml_nodes() -> int:
    return bound("MAX_YAML_NODES", MAX_YAML_NODES)


def time_limit() -> int:
    return bound("TIME_LIMIT", TIME_LIMIT)


def max_lines() -> int:
    return bound("MAX_LINES", MAX_LINES)


def max_group_depth() -> int:
    return bound("MAX_GROUP_DEPTH", MAX_GROUP_DEPTH)


def max_jump_visits() -> int:
    return bound("MAX_JUMP_VISITS", MAX_JUMP_VISITS)


def max_wildcard_ranges() -> int:
    return bound("MAX_WILDCARD_RANGES", MAX_WILDCARD_RANGES)


def check_lines(text: str, path: str) -> None:
    """Refuse, before parsing, an input with more lines than the bound (memory grows with rules)."""
    limit = max_lines()
    n = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if limit and n > limit:
        raise InputError(
            f"input has {n:,} lines, more than the bound of {limit:,} lines "
            f"(memory grows with rules, about 5 GB at 100,000); set FW2NP_MAX_LINES={n} "
            f"(or 0 for no bound) to convert it anyway",
            Loc(path, limit + 1),
        )


def too_deep(loc: Loc | None, source_line: str | None = None) -> InputError:
    return InputError(f"nesting deeper than {max_depth()} levels (bound FW2NP_MAX_DEPTH)", loc, source_line)


class TimeLimit(Exception):
    """The command ran longer than FW2NP_TIME_LIMIT seconds."""


def _on_alarm(signum, frame):
    raise TimeLimit()


def can_alarm() -> bool:
    """Whether a SIGALRM can bound the time here (a POSIX system, the main thread)."""
    return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit_alarm(seconds: int):
    """Raise TimeLimit in the block after SECONDS of wall-clock time; yields the seconds armed
    (0: no bound, as when SECONDS is 0 or no SIGALRM can be had)."""
    if not seconds or not can_alarm():
        yield 0
        return
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)
    try:
        yield seconds
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def cancel_alarm() -> None:
    """Disarm a pending time_limit_alarm (a batch bounds each file instead of the whole run)."""
    if hasattr(signal, "alarm"):
        signal.alarm(0)
