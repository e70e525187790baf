"""gunicorn's ASGI worker for IAZE (WEB_WORKER=asgi; gunicorn.conf.py): uvicorn-worker's, which also ends
the open Server-Sent Events streams as soon as the process is asked to stop (iaze.lib.stopping), so a
stop or a `make deploy` reload is not held for the whole graceful timeout by pages that never hang up,
and which exits normally after a graceful stop (see _Server)."""

from __future__ import annotations

import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from iaze.lib import stopping


class _Server(Server):
    def handle_exit(self, sig, frame) -> None:
        stopping.stop()
        super().handle_exit(sig, frame)
        # uvicorn raises the signal again once it has shut down, so the worker would die of the SIGTERM
        # its master sent and gunicorn would log "[ERROR] Worker … was sent SIGTERM!" at every stop and
        # reload. Under gunicorn the worker's end is the master's business: it exits normally instead.
        self._captured_signals.clear()


class Worker(UvicornWorker):
    # h11, the pure-Python parser uvicorn needs no extra package for (httptools is not installed).
    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11"}

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = _Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
