"""`kcolor serve`'s short clips (/api/clips): checks, progress, the colour clip, the queue.

A uvicorn server on a loopback port (as tests/test_serve.py) with a stand-in colouriser
(no network): every check here is about the server, not the colours.
"""

import json
import os
import tempfile
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("multipart", reason="needs the serve extra: pip install -e '.[serve]'")
av = pytest.importorskip("av")

from test_serve import error_of, multipart, request  # noqa: E402
from test_video import H, N, StandIn, W, make_clip  # noqa: E402

from kcolor.serve.app import create_app  # noqa: E402
from kcolor.serve.background import BackgroundServer  # noqa: E402
from kcolor.serve.clips import ClipLimits  # noqa: E402


class Painter(StandIn):
    """The stand-in colouriser of tests/test_video.py, taking a vividness too."""

    def colorize_arrays(self, photos, rgbx=False, vividness=None):
        self.vividness = vividness
        return super().colorize_arrays(photos)


class Gated(Painter):
    """A stand-in colouriser that waits for ``gate`` before colouring."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()

    def colorize_arrays(self, photos, **kwargs):
        self.started.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return super().colorize_arrays(photos, **kwargs)


@pytest.fixture
def tmpdir_for_clips(tmp_path, monkeypatch):
    """Clip folders go under tmp_path/tmp, so the test can see that none is left."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def serve(colorizer=None, **limits):
    app = create_app(colorizer_factory=lambda name: colorizer or Painter())
    if limits:
        app.state.clips.limits = ClipLimits(**limits)
    return app


def post_clip(srv, filename, data, **fields):
    body, ctype = multipart(fields, {"video": (filename, data, "video/mp4")})
    status, headers, raw = request(srv, "POST", "/api/clips", body, {"Content-Type": ctype})
    return status, headers, raw


def get_json(srv, path):
    status, headers, raw = request(srv, "GET", path)
    assert headers["content-type"].startswith("application/json"), raw[:200]
    return status, json.loads(raw)


def wait_done(srv, job, timeout=60):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, state = get_json(srv, job["progress_url"])
        assert status == 200
        seen.append((state["status"], state["frames_done"], state["frames_total"]))
        if state["status"] in ("done", "failed"):
            return state, seen
        time.sleep(0.05)
    raise AssertionError(f"the clip was not done in {timeout} s: {seen[-3:]}")


def frames_of(path):
    with av.open(os.fspath(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


# ---------------------------------------------------------------- the success path
def test_clip_is_coloured_with_progress_and_comes_back_as_mp4(tmp_path, tmpdir_for_clips):
    src = make_clip(tmp_path / "old film.mp4", audio=True)
    painter = Painter()
    with BackgroundServer(serve(painter)) as srv:
        status, headers, raw = post_clip(srv, "old film.mp4", src.read_bytes(), vividness="0.5")
        assert status == 202, raw
        job = json.loads(raw)
        assert headers["location"] == job["progress_url"] == f"/api/clips/{job['id']}"
        assert job["frames_total"] == N and job["status"] in ("queued", "working", "done")
        state, seen = wait_done(srv, job)
        assert state["status"] == "done", state
        assert state["frames_done"] == state["frames_total"] == N
        assert painter.vividness == 0.5
        assert all(0 <= done <= total for _, done, total in seen)
        # the upload is gone once coloured; only the result is kept
        (folder,) = list(tmpdir_for_clips.iterdir())
        assert sorted(p.name for p in folder.iterdir()) == ["colour.mp4"]

        status, headers, video = request(srv, "GET", state["result_url"])
        assert status == 200 and headers["content-type"] == "video/mp4"
        assert "old%20film_colour.mp4" in headers["content-disposition"]
        out = tmp_path / "out.mp4"
        out.write_bytes(video)
        got, want = frames_of(out), frames_of(src)
        assert len(got) == len(want) == N
        assert got[0].shape == want[0].shape == (H, W, 3)
        assert np.abs(got[0][..., 0].astype(int) - got[0][..., 2]).mean() > 5  # coloured
        with av.open(os.fspath(out)) as c:
            assert c.streams.audio[0].codec_context.name == "aac"  # the sound kept

        # a player's byte range
        status, headers, part = request(
            srv, "GET", state["result_url"], headers={"Range": "bytes=0-99"}
        )
        assert status == 206 and part == video[:100]

        assert request(srv, "DELETE", job["progress_url"])[0] == 204
        assert list(tmpdir_for_clips.iterdir()) == []
        status, body = get_json(srv, job["progress_url"])
        assert status == 404 and "no such clip" in body["error"]


def test_overview_states_the_limits():
    with BackgroundServer(serve(max_seconds=12, max_mb=5)) as srv:
        status, body = get_json(srv, "/api/clips")
    assert status == 200
    assert body["limits"]["max_seconds"] == 12 and body["limits"]["max_bytes"] == 5_000_000
    assert body["limits"]["max_width"] == 1920 and body["limits"]["max_height"] == 1080
    assert body["working"] is None and body["waiting"] == 0


# ---------------------------------------------------------------- refused, saying why
def test_too_long_clip_is_413_naming_the_limit(tmp_path, tmpdir_for_clips):
    src = make_clip(tmp_path / "long.mp4", n=12)  # 0.5 s at 24 fps
    with BackgroundServer(serve(max_seconds=0.25)) as srv:
        status, headers, raw = post_clip(srv, "long.mp4", src.read_bytes())
    assert status == 413
    message = error_of(status, headers, raw)
    assert message.startswith("long.mp4: the clip is 0.5 s long")
    assert "at most 0.25 s" in message
    assert list(tmpdir_for_clips.iterdir()) == []


def test_frames_over_the_size_limit_are_413(tmp_path):
    src = make_clip(tmp_path / "wide.mp4", n=2)
    with BackgroundServer(serve(max_width=48, max_height=40)) as srv:
        status, headers, raw = post_clip(srv, "wide.mp4", src.read_bytes())
    assert status == 413
    assert "wide.mp4: frames of 64x48 are over this server's limit of 48x40" in error_of(
        status, headers, raw
    )


@pytest.mark.parametrize("chunked", [False, True])
def test_upload_over_the_byte_limit_is_413(tmp_path, tmpdir_for_clips, chunked):
    src = make_clip(tmp_path / "big.mp4", n=6)
    body, ctype = multipart({}, {"video": ("big.mp4", src.read_bytes() * 400, "video/mp4")})
    with BackgroundServer(serve(max_mb=0.1)) as srv:
        status, headers, raw = request(
            srv, "POST", "/api/clips", body, {"Content-Type": ctype}, chunked=chunked
        )
    assert status == 413
    assert "over this server's limit of 0.1 MB for a clip" in error_of(status, headers, raw)
    assert list(tmpdir_for_clips.iterdir()) == []


def _audio_only(path):
    with av.open(os.fspath(path), "w") as c:
        a = c.add_stream("aac", rate=8000)
        for k in range(4):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
            af.sample_rate, af.pts = 8000, k * 1024
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    return path


@pytest.mark.parametrize("kind", ["text", "truncated", "sound", "empty"])
def test_not_a_usable_video_is_400_naming_the_file(tmp_path, tmpdir_for_clips, kind):
    if kind == "text":
        data, words = b"this is no video\n" * 20, "not a video file this server can read"
    elif kind == "truncated":
        whole = make_clip(tmp_path / "in.mp4", n=12, w=128, h=96).read_bytes()
        data, words = whole[: len(whole) // 2], "not a video file this server can read"
    elif kind == "sound":
        data = _audio_only(tmp_path / "sound.mkv").read_bytes()
        words = "holds no video stream (only audio)"
    else:
        data, words = b"", "empty file"
    with BackgroundServer(serve()) as srv:
        status, headers, raw = post_clip(srv, "clip.mp4", data)
    assert status == 400
    message = error_of(status, headers, raw)
    assert message.startswith("clip.mp4: ") and words in message
    assert list(tmpdir_for_clips.iterdir()) == []


def test_form_errors_are_4xx():
    with BackgroundServer(serve()) as srv:
        status, headers, raw = request(
            srv, "POST", "/api/clips", b"{}", {"Content-Type": "application/json"}
        )
        assert status == 415 and "multipart/form-data" in error_of(status, headers, raw)
        body, ctype = multipart({"model": "x"})
        status, headers, raw = request(srv, "POST", "/api/clips", body, {"Content-Type": ctype})
        assert status == 400 and "'video' is missing" in error_of(status, headers, raw)
        status, body = get_json(srv, "/api/clips/nope")
        assert status == 404
        status, body = get_json(srv, "/api/clips/nope/video")
        assert status == 404


# ---------------------------------------------------------------- one at a time
def test_full_line_is_503_and_results_wait_for_their_turn(tmp_path, tmpdir_for_clips):
    gated = Gated()
    data = make_clip(tmp_path / "in.mp4").read_bytes()
    with BackgroundServer(serve(gated, max_waiting=1)) as srv:
        status, _, raw = post_clip(srv, "first.mp4", data)
        assert status == 202
        first = json.loads(raw)
        assert gated.started.wait(30)
        status, _, raw = post_clip(srv, "second.mp4", data)
        assert status == 202
        second = json.loads(raw)
        assert second["status"] == "queued" and second["position"] == 1
        t0 = time.monotonic()
        status, headers, raw = post_clip(srv, "third.mp4", data)
        assert status == 503 and time.monotonic() - t0 < 5
        assert headers["retry-after"].isdigit()
        assert error_of(status, headers, raw).startswith(
            "the server is busy with clips: 1 clip is waiting already"
        )
        status, body = get_json(srv, first["result_url"])
        assert status == 409 and "not coloured yet (working" in body["error"]
        gated.gate.set()
        for job in (first, second):
            state, _ = wait_done(srv, job)
            assert state["status"] == "done"
        assert post_clip(srv, "fourth.mp4", data)[0] == 202  # room again
    assert list(tmpdir_for_clips.iterdir()) != []  # results kept until the server stops
    srv_app_clips = srv.app.state.clips
    srv_app_clips.close()
    assert list(tmpdir_for_clips.iterdir()) == []


def test_clip_that_fails_while_colouring_says_why(tmp_path, tmpdir_for_clips):
    class Broken(Painter):
        def colorize_arrays(self, photos, **kwargs):
            raise RuntimeError("the network fell over")

    data = make_clip(tmp_path / "in.mp4").read_bytes()
    with BackgroundServer(serve(Broken())) as srv:
        status, _, raw = post_clip(srv, "in.mp4", data)
        assert status == 202
        state, _ = wait_done(srv, json.loads(raw))
        assert state["status"] == "failed"
        assert state["error"] == "in.mp4: unexpected RuntimeError: the network fell over"
        status, body = get_json(srv, state["result_url"])
        assert status == 500 and body["error"] == state["error"]
    assert list(tmpdir_for_clips.iterdir()) == []


# ---------------------------------------------------------------- the page (Chromium)
def test_page_colours_a_clip_with_a_progress_bar_player_and_download(tmp_path):
    from test_serve_browser import find_browser, launch

    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright")
    if find_browser() is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set KCOLOR_CHROMIUM)")
    src = make_clip(tmp_path / "reel.mp4", n=12)
    gated = Gated()
    with BackgroundServer(serve(gated)) as srv, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            problems = []
            page.on("pageerror", lambda err: problems.append(str(err)))
            page.goto(srv.url)
            page.wait_for_function(
                "() => document.getElementById('clip-limits').textContent.includes('30 s')"
            )
            page.set_input_files("#files", str(src))  # the photos' chooser hands videos on
            card = page.wait_for_selector("#clips .card[data-state='working']", timeout=30_000)
            assert card.get_attribute("data-name") == "reel.mp4"
            page.wait_for_selector("#clips .card .progress[role=progressbar]")
            assert gated.started.wait(30)
            gated.gate.set()
            page.wait_for_selector("#clips .card[data-state='done'] video", timeout=60_000)
            assert page.eval_on_selector("#clips .card", "c => c.dataset.frames") == "12/12"
            assert page.inner_text("#photos") == ""
            # the player reads the clip (its size: H.264 the browser can decode)
            size = page.wait_for_function(
                "() => { const v = document.querySelector('#clips video');"
                " return v.videoWidth ? [v.videoWidth, v.videoHeight] : (v.error ? 'error' : null); }",
                timeout=30_000,
            ).json_value()
            assert size in ([W, H], "error")  # 'error': a Chromium built without H.264
            with page.expect_download(timeout=30_000) as info:
                page.click("#clips .card .download")
            saved = tmp_path / info.value.suggested_filename
            info.value.save_as(saved)
            assert saved.name == "reel_colour.mp4"
            assert len(frames_of(saved)) == 12
            assert not problems, problems
        finally:
            browser.close()


def test_clip_longer_than_its_header_says_is_stopped_at_the_limit(
    tmp_path, tmpdir_for_clips, monkeypatch
):
    import dataclasses

    from kcolor.video import io as vio

    real_probe = vio.probe
    monkeypatch.setattr(
        vio, "probe", lambda *a, **k: dataclasses.replace(real_probe(*a, **k), duration=0.1)
    )
    data = make_clip(tmp_path / "liar.mp4").read_bytes()  # 6 frames at 24 fps: 0.25 s
    with BackgroundServer(serve(max_seconds=0.12)) as srv:
        status, _, raw = post_clip(srv, "liar.mp4", data)
        assert status == 202
        state, _ = wait_done(srv, json.loads(raw))
        assert state["status"] == "failed"
        assert state["error"] == (
            "liar.mp4: the clip runs past this server's limit of 0.12 s (its header said less)"
        )
        status, body = get_json(srv, state["result_url"])
        assert status == 413
    assert list(tmpdir_for_clips.iterdir()) == []
