"""Run a ``kcolor serve`` app on uvicorn in a background thread (tests, notebooks)."""

from __future__ import annotations

import socket
import threading
import time


class BackgroundServer:
    """An ASGI app served by uvicorn from a daemon thread on a free loopback port.

    Args:
        app: the ASGI application (e.g. from :func:`kcolor.serve.app.create_app`).
        host: the loopback address to bind (``127.0.0.1``).
        port: the port; ``0`` picks a free one.
        timeout: seconds to wait for the server to start.

    Example:
        >>> from kcolor.serve.app import create_app                # doctest: +SKIP
        >>> with BackgroundServer(create_app()) as server:          # doctest: +SKIP
        ...     print(server.url)                                   # doctest: +SKIP
        http://127.0.0.1:40123/
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0):
        self.app = app
        self.host = host
        self.port = port
        self.timeout = timeout
        self.url: str | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self) -> BackgroundServer:
        """Bind, start serving and wait until the server accepts connections."""
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, self.port))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="kcolor-serve"
        )
        self._thread.start()
        deadline = time.monotonic() + self.timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.host}:{self.port} did not start")
            time.sleep(0.02)
        self.url = f"http://{self.host}:{self.port}/"
        return self

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread (at most ``timeout`` seconds)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self.timeout)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
