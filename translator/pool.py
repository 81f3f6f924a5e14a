"""Worker processes (batch, lint), each with a pipe of its own that only the main thread reads.

No helper threads and no shared queue: an interrupt (Ctrl-C, SIGTERM) may come at
any moment, the workers are then ended, and nothing is left to wait for.  (With
concurrent.futures, a worker ended while it wrote its result left a half message
that the pool's own thread then waited on forever, and the process never exited.)
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait

STOP_SECONDS = 30  # how long ended workers get before they are killed


def _serve(conn, other_end, fn: Callable, initializer: Callable, initargs: tuple) -> None:
    """In a worker: run FN on each item received until None; send back ("ok", result) or ("crashed", why).
    OTHER_END, the parent's end inherited by fork, is closed so that the parent's exit is an end of file."""
    other_end.close()
    initializer(*initargs)
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            out = ("ok", fn(item))
        except BaseException as exc:  # reported as that item's failure, the worker goes on
            out = ("crashed", f"{type(exc).__name__}: {exc}")
        conn.send(out)


class _Worker:
    def __init__(self, ctx, fn, initializer, initargs):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.conn, fn, initializer, initargs))
        self.proc.start()
        child.close()
        self.item = None
        self.since = 0.0

    def give(self, item) -> None:
        self.conn.send(item)
        self.item, self.since = item, time.monotonic()


def run(
    fn: Callable,
    items: Iterable,
    workers: int,
    initializer: Callable,
    initargs: tuple = (),
    on_give=None,
    item_seconds: float = 0,
) -> Iterator[tuple]:
    """Yield (item, "ok", FN(item)) or (item, "crashed", why) as workers finish, in WORKERS processes;
    ON_GIVE(item) when a worker takes an item.

    A worker that dies, or (with ITEM_SECONDS) has not answered ITEM_SECONDS after taking
    its item, fails that item only and is replaced.  When the caller stops (an exception,
    an interrupt, close()), every worker is ended."""
    ctx = multiprocessing.get_context("fork")
    todo = deque(items)
    pool: list[_Worker] = []
    try:
        while todo or any(w.item is not None for w in pool):
            for w in [w for w in pool if w.item is None]:
                if todo and not _give(w, todo, on_give):
                    pool.remove(w)
            while todo and len(pool) < workers:
                pool.append(_Worker(ctx, fn, initializer, initargs))
                if not _give(pool[-1], todo, on_give):
                    pool.pop()
            busy = [w for w in pool if w.item is not None]
            timeout = None
            if item_seconds:
                timeout = max(0.0, min(w.since for w in busy) + item_seconds - time.monotonic())
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout))
            for w in busy:
                if w.conn not in ready and w.proc.sentinel not in ready:
                    if item_seconds and time.monotonic() - w.since >= item_seconds:
                        item = w.item
                        _end([w])
                        pool.remove(w)
                        yield item, "crashed", f"the worker did not answer within {item_seconds:g} s and was stopped"
                    continue
                item, w.item = w.item, None
                try:
                    status, value = w.conn.recv()
                except (EOFError, OSError):
                    status, value = "crashed", f"the worker died (exit code {_exit_code(w)})"
                    _end([w])
                    pool.remove(w)
                yield item, status, value
    finally:
        _end(pool)


def _give(w: _Worker, todo: deque, on_give=None) -> bool:
    """Send W the next item; False (the item back in TODO, W ended) if W has died since its last one."""
    item = todo.popleft()
    try:
        w.give(item)
        if on_give:
            on_give(item)
        return True
    except OSError:
        w.item = None
        todo.appendleft(item)
        _end([w])
        return False


def _exit_code(w: _Worker):
    w.proc.join(timeout=5)
    return w.proc.exitcode


def _end(pool: list[_Worker]) -> None:
    """End the workers: idle ones are asked to exit, busy ones are terminated, then killed if they linger."""
    for w in pool:
        try:
            if w.item is None and w.proc.is_alive():
                w.conn.send(None)
            else:
                w.proc.terminate()
        except OSError:
            w.proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for w in pool:
        w.proc.join(timeout=max(0.1, deadline - time.monotonic()))
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(timeout=10)
        w.conn.close()
