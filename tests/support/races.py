"""The barrier race harness: many threads released at the same instant against a real database server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def race(n: int, work: Callable[[int], Any], *, join_timeout: float = 120) -> list:
    """Run work(i) for i in 0..n-1, each in its own thread, all released together by a barrier.

    Returns each thread's result, or the exception it raised, in thread order. Every thread closes
    its database connections when done; a thread still running after `join_timeout` fails the test.
    """
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=join_timeout)
    assert not any(t.is_alive() for t in threads), "a racing thread is stuck"
    return results


def raise_first_error(results: list) -> None:
    """Re-raise the first exception a racing thread ended with."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
