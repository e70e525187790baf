"""What a stopping server process tells the code that holds long requests (the live updates' streams).

A graceful stop or reload (SIGTERM, `make deploy`'s HUP) waits for open requests to end; a Server-Sent
Events stream never ends by itself. The ASGI worker (iaze.lib.asgi_worker) calls `stop()` when its
process is asked to exit; whatever registered with `on_stop` then ends its streams, and the pages
reconnect to a process that is serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
_callbacks: list[Callable[[], None]] = []


def on_stop(callback: Callable[[], None]) -> None:
    if callback not in _callbacks:
        _callbacks.append(callback)


def stop() -> None:
    for callback in list(_callbacks):
        try:
            callback()
        except Exception:
            log.exception("stopping: a callback failed")
