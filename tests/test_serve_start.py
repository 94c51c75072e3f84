"""``kcolor serve``'s start (kcolor.serve.cli): the port listens before the model has
loaded, the default model loads once, on a thread, and a model that fails to load still
stops the server with exit code 2."""

import socket
import threading

import pytest

pytest.importorskip("starlette", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")

from kcolor.errors import WeightsError  # noqa: E402


class _Model:
    def colorize(self, rgb, vividness=None):
        return rgb


def _serve(monkeypatch, capsys, loader):
    """`kcolor serve --port 0` with ``loader`` as the app's model loader and uvicorn's loop
    replaced by a probe that connects to the socket it is handed."""
    import uvicorn

    import kcolor.serve.app as serve_app
    from kcolor.cli import main

    seen = {}

    def run(self, sockets=None):
        seen["loaded"] = self.config.app.state.models.loaded()
        with socket.create_connection(sockets[0].getsockname()[:2], timeout=5):
            seen["connected"] = True  # accepted into the backlog: listening already

    monkeypatch.setattr(serve_app, "_load_colorizer", loader)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    # uvicorn.Config would point logging at capsys's stream, closed after the test
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda self: None)
    code = main(["serve", "--port", "0"])
    return code, seen, capsys.readouterr().err


def test_the_default_model_loads_once_on_a_thread_and_the_port_listens(monkeypatch, capsys):
    from kcolor.presets import DEFAULT_PRESET

    calls = []

    def loader(name):
        calls.append((name, threading.current_thread().name))
        return _Model()

    code, seen, err = _serve(monkeypatch, capsys, loader)
    assert code == 0, err
    assert calls == [(DEFAULT_PRESET, "kcolor-preload")]  # once, on the preload thread
    assert seen == {"loaded": [DEFAULT_PRESET], "connected": True}


def test_a_model_that_fails_to_load_on_the_thread_exits_2(monkeypatch, capsys):
    def loader(name):
        raise WeightsError(name, "broken on purpose")

    code, seen, err = _serve(monkeypatch, capsys, loader)
    assert code == 2 and not seen
    assert "broken on purpose" in err
