"""The ``kcolor serve`` sub-command: the web page and its API on uvicorn.

:func:`add_parser` adds the sub-command to an ``argparse`` sub-parsers object and
:func:`run` runs it (returns the exit code). Neither imports Keras, torch or the web
framework at module import: ``kcolor serve --help`` stays instant and works without the
``serve`` extra.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import threading

PROG = "kcolor"

_EPILOG = """\
examples:
  kcolor serve                              # http://127.0.0.1:8000/
  kcolor serve --model runs/mine --port 8080
  curl -F image=@old.jpg http://127.0.0.1:8000/api/colorize -o old_colour.jpg
  curl -F image=@old.jpg -F vividness=0.8 http://127.0.0.1:8000/api/colorize -o vivid.jpg

API: GET /api/models (JSON list, the default marked), POST /api/colorize (multipart
field `image`, optional `model` and `vividness`, a colour strength from 0 to 1: 0 muted,
0.5 the preset's balance, 1 vivid; answers the colour photo, JPEG for a JPEG upload, PNG
otherwise; errors are JSON {"error": "..."} with a 4xx status, 413 over --max-mb or
--max-pixels; 503 with Retry-After when --max-queue requests wait already).

Memory: photos are decoded, coloured and encoded one at a time, whatever the number of
clients; waiting uploads are kept on disk. Besides the model, the server needs about
12 bytes a pixel of the photo at work: six 30-megapixel photos sent at once (and three
168-megapixel ones, refused) raised its peak memory by under 0.6 GB (tests/test_serve.py).

Needs the serve extra: pip install "kcolor[serve]".
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free one), got {value}")
    return value


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of MB, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of MB, got {text}")
    return value


def _pixels(text: str) -> int:
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected a number of pixels, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of pixels, got {text}")
    return value


def _requests(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of requests (0 or more), got {text!r}")
    return value


def add_parser(subparsers):
    """Add ``serve`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``); return it."""
    p = subparsers.add_parser(
        "serve",
        help="a local web page to colour photos, with a small HTTP API",
        description="Serve a web page on which to drop photos and get them back in colour\n"
        "(before/after slider, a colour-strength slider, downloads one by one or as a zip),\n"
        "and the HTTP API behind it. It listens on this computer only (127.0.0.1) unless\n"
        "--host says otherwise.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="PRESET_OR_RUN",
        help="the default model: a preset name (see `kcolor models`) or a run/preset folder "
        "(default: the default preset); the page's menu also offers every installed preset",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only); any other lets "
        "everyone on that network use the page",
    )
    p.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default 8000; 0: any free)"
    )
    p.add_argument(
        "--max-mb",
        type=_megabytes,
        default=50.0,
        metavar="MB",
        help="largest photo accepted, in MB (default 50); larger ones are refused (413)",
    )
    p.add_argument(
        "--max-pixels",
        type=_pixels,
        default=40_000_000,
        metavar="N",
        help="largest photo accepted, in pixels (default 40000000 = 40 megapixels, e.g. "
        "7300x5470; 40e6 works too); larger ones are refused (413) from the file's header, "
        "before any pixel is decoded",
    )
    p.add_argument(
        "--max-queue",
        type=_requests,
        default=8,
        metavar="N",
        help="how many photos may wait while one is coloured (default 8); more are refused "
        "(503, with Retry-After) until there is room",
    )
    p.set_defaults(func=run)
    return p


def _err(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this computer only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: ``listen()`` backlog (uvicorn's default).
_BACKLOG = 2048


def _bind(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening from now on: a request sent while the model loads waits in the backlog
        # (answered as soon as the app is up) instead of being refused.
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


class _Preload(threading.Thread):
    """Loads the default model on a thread (the app's own loader, ``_load_colorizer``).

    ``spec`` is the name the app gives the default model; :meth:`result` waits for the
    colorizer (or raises the loading error); :meth:`warm_up` then fills, on the same
    thread, the rows of the colour table that most photos use (otherwise the first photo
    would build them: about 0.1 s of CPU).
    """

    def __init__(self, model):
        super().__init__(name="kcolor-preload", daemon=True)
        from kcolor.presets.registry import DEFAULT_PRESET

        self.spec = os.fspath(model) if model is not None else DEFAULT_PRESET
        self._done = threading.Event()
        self._warm = threading.Event()
        self._value = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            try:  # its C++ library loads while the main thread imports the web framework
                import onnxruntime  # noqa: F401
            except ImportError:
                pass
            from kcolor.serve import app as serve_app

            self._value = serve_app._load_colorizer(self.spec)
        except BaseException as err:  # noqa: BLE001 - handed to result()
            self._error = err
        finally:
            self._done.set()
        if self._error is None and self._warm.wait(timeout=60):
            from kcolor import color

            for lo in range(62, 50, -4):  # a near grey first, in [-20, 22] (any b): 85 ms
                color.grey_ab_table((lo, lo + 3))
                color.grey_ab_table((126 - lo, 129 - lo))

    def result(self):
        """The loaded colorizer (waits for it); raises what loading it raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def warm_up(self) -> None:
        """Let the thread fill the colour table's common rows (after the model loaded)."""
        self._warm.set()


def run(args) -> int:
    """Run ``kcolor serve`` with parsed ``args``; return the exit code (0 after Ctrl-C)."""
    missing = []
    for module, package in (
        ("starlette", "starlette"),
        ("uvicorn", "uvicorn"),
        ("multipart", "python-multipart"),
    ):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        _err(
            f"kcolor serve needs the serve extra ({', '.join(missing)} missing): "
            'pip install "kcolor[serve]"'
        )
        return 2
    if not is_loopback(args.host):
        print(
            f"{PROG}: warning: listening on {args.host}: anyone who can reach this computer on "
            "that network can use the page and the API (and make it colour photos). The "
            "default --host 127.0.0.1 keeps it to this computer.",
            file=sys.stderr,
        )
    try:
        sock = _bind(args.host, args.port)
    except OSError as err:
        _err(
            f"cannot listen on {args.host} port {args.port}: {err.strerror or err} (try another --port)"
        )
        return 2

    with sock:
        # The default model loads on a thread while this one imports the web framework.
        preload = _Preload(args.model)
        preload.start()
        import uvicorn

        from kcolor.errors import KcolorError
        from kcolor.serve import app as serve_app

        def factory(name):
            if name == preload.spec:
                return preload.result()
            return serve_app._load_colorizer(name)

        app = serve_app.create_app(
            args.model,
            max_mb=args.max_mb,
            max_pixels=args.max_pixels,
            max_queue=args.max_queue,
            colorizer_factory=factory,
        )
        default = app.state.default_model
        print(f"{PROG} serve: loading the model {default} ...", file=sys.stderr)
        try:
            app.state.models.get(default)  # fail now, not at the first photo
        except KcolorError as err:
            _err(str(err))
            return 2
        preload.warm_up()  # on its thread: the colour table's common rows
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"{PROG} serve: open http://{shown}:{port}/  (Ctrl-C stops it)", file=sys.stderr)
        server = uvicorn.Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=5))
        server.run(sockets=[sock])
    return 0
