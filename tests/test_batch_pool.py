"""The batch worker pool: every item once, a dying worker fails its item only, stopping ends the workers."""

from __future__ import annotations

import multiprocessing
import os
import time

from translator import pool


def _square(n):
    return n * n


def _dies_on_3(n):
    if n == 3:
        os._exit(7)
    return n


def _raises_on_2(n):
    if n == 2:
        raise ValueError("bad item")
    return n


def _slow(n):
    time.sleep(60)
    return n


def _nothing():
    pass


def test_every_item_once_with_its_result():
    got = sorted((item, status, value) for item, status, value in pool.run(_square, range(10), 2, _nothing))
    assert got == [(n, "ok", n * n) for n in range(10)]


def test_a_worker_that_dies_fails_its_item_only():
    got = {item: (status, value) for item, status, value in pool.run(_dies_on_3, range(8), 2, _nothing)}
    assert sorted(got) == list(range(8))
    assert got[3][0] == "crashed" and "exit code 7" in got[3][1]
    assert all(got[n] == ("ok", n) for n in range(8) if n != 3)


def test_an_exception_fails_its_item_and_the_worker_goes_on():
    got = {item: (status, value) for item, status, value in pool.run(_raises_on_2, range(6), 2, _nothing)}
    assert got[2] == ("crashed", "ValueError: bad item")
    assert all(got[n] == ("ok", n) for n in range(6) if n != 2)


def test_an_interrupt_ends_busy_workers_at_once():
    import signal
    import threading

    children = []

    def interrupt():
        children.extend(multiprocessing.active_children())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.0, interrupt)
    timer.start()
    t0 = time.monotonic()
    try:
        for _ in pool.run(_slow, range(4), 2, _nothing):
            raise AssertionError("no item can finish this soon")
    except KeyboardInterrupt:
        pass
    assert len(children) == 2
    assert time.monotonic() - t0 < 20
    assert not any(p.is_alive() for p in children)


def _hangs_on_1(n):
    if n == 1:
        time.sleep(120)  # as a worker deadlocked after fork would
    return n


def test_a_worker_that_does_not_answer_in_time_fails_its_item_only():
    t0 = time.monotonic()
    got = {item: (status, value) for item, status, value in pool.run(_hangs_on_1, range(6), 2, _nothing, (), None, 1.5)}
    assert time.monotonic() - t0 < 30
    assert got[1] == ("crashed", "the worker did not answer within 1.5 s and was stopped")
    assert all(got[n] == ("ok", n) for n in range(6) if n != 1)
    assert not multiprocessing.active_children()
