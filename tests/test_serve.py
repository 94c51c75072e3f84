"""`kcolor serve`'s HTTP API, on a real uvicorn server on a loopback port (no browser).

A tiny untrained alpha network (with a colour bias, so the output is really coloured)
stands in for the presets: every check here is about the server, not the colours.
"""

import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("multipart", reason="needs the serve extra: pip install -e '.[serve]'")

from kcolor import color, presets  # noqa: E402
from kcolor.serve.app import create_app, list_models  # noqa: E402
from kcolor.serve.background import BackgroundServer  # noqa: E402
from kcolor.serve.cli import is_loopback  # noqa: E402


# ---------------------------------------------------------------- helpers
def tiny_colorizer(name=None):
    """An untrained alpha (32,202 parameters) whose last bias paints strong colour."""
    import keras

    from kcolor.inference.colorizer import Colorizer
    from kcolor.models import alpha

    keras.utils.set_random_seed(0)
    model = alpha((None, None, 1))
    last = model.layers[-1]
    kernel, _ = last.get_weights()
    last.set_weights([kernel, np.array([0.6, -0.5], np.float32)])
    return Colorizer(model, input_size=32)


def grey_photo(h=37, w=50, seed=0):
    """A grey uint8 photo with structure (gradient + noise), RGB with R = G = B."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    g = (40 + 170 * x / max(w - 1, 1) + rng.integers(-25, 25, (h, w))).clip(0, 255)
    return np.repeat(g.astype(np.uint8)[..., None], 3, axis=-1)


def encode(rgb, fmt="PNG", **kw):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kw)
    return buf.getvalue()


def big_png(width, height, pixels=True):
    """A grey PNG of ``width`` x ``height`` (a left-to-right gradient), written row by row.

    Every row after the first is PNG's "Up" filter of zeros, so 168 megapixels cost about
    0.2 MB of file and no big array here: the shape of a decompression bomb. With
    ``pixels=False`` only the header (IHDR) is there: enough to read the size, never decodable.
    """
    import struct
    import zlib

    def chunk(kind, data):
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    out = [
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)),
    ]
    if pixels:
        z = zlib.compressobj(9)
        first = (
            bytes([0])
            + (np.arange(width) * 200 // max(width - 1, 1) + 30).astype(np.uint8).tobytes()
        )
        up = bytes([2]) + bytes(width)
        parts = [z.compress(first)] + [z.compress(up) for _ in range(height - 1)] + [z.flush()]
        out.append(chunk(b"IDAT", b"".join(parts)))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def lightness(rgb):
    return color.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]


def multipart(fields=None, files=None):
    """(body, content type) of a multipart/form-data form."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in (fields or {}).items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, data, ctype) in (files or {}).items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def request(server, method, path, body=None, headers=None, chunked=False):
    """(status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        if chunked:
            conn.putrequest(method, path)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body), 65536):
                    part = body[i : i + 65536]
                    conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early and closed: read what it said
        else:
            conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def colorize(server, filename, data, ctype="application/octet-stream", **fields):
    body, content_type = multipart(fields, {"image": (filename, data, ctype)})
    return request(server, "POST", "/api/colorize", body, {"Content-Type": content_type})


def error_of(status, headers, body):
    assert headers["content-type"].startswith("application/json"), (status, body[:200])
    return json.loads(body)["error"]


@pytest.fixture(scope="module")
def server():
    app = create_app(colorizer_factory=tiny_colorizer, max_mb=0.2, max_pixels=200_000)
    with BackgroundServer(app) as srv:
        yield srv


# ---------------------------------------------------------------- the models and the page
def test_models_lists_the_default_first_and_marks_only_it(server):
    status, headers, body = request(server, "GET", "/api/models")
    assert status == 200 and headers["content-type"] == "application/json"
    models = json.loads(body)
    assert [m["default"] for m in models] == [True] + [False] * (len(models) - 1)
    assert models[0]["name"] == presets.DEFAULT_PRESET
    names = [m["name"] for m in models]
    assert len(set(names)) == len(names) and set(names) <= set(presets.list_presets())
    assert all(isinstance(m["description"], str) and m["description"] for m in models)


def test_models_with_a_run_folder_as_default():
    models = list_models("runs/mine")
    assert models[0] == {
        "name": "runs/mine",
        "description": "the model given to kcolor serve: runs/mine",
        "default": True,
    }
    assert not any(m["default"] for m in models[1:])
    assert len(models) > 1  # the installed presets stay on the menu


def test_config_says_the_limit(server):
    status, _, body = request(server, "GET", "/api/config")
    assert status == 200
    assert json.loads(body) == {
        "default_model": presets.DEFAULT_PRESET,
        "default_vividness": 0.5,
        "max_bytes": 200_000,
        "max_mb": 0.2,
        "max_pixels": 200_000,
        "max_queue": 8,
    }


def test_page_is_self_contained(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in headers["content-security-policy"]
    page = body.decode()
    assert "api/colorize" in page and "api/models" in page
    assert 'name="viewport"' in page and "@media (max-width" in page  # phone-sized screens
    # no CDN: nothing is loaded from another origin
    for attr in ("src=", "href=", "url("):
        for piece in page.split(attr)[1:]:
            assert not piece.lstrip("\"'").startswith(("http:", "https:", "//")), piece[:80]
    from importlib import resources

    assert resources.files("kcolor.serve").joinpath("static/index.html").read_bytes() == body


def test_unknown_routes_and_methods_answer_json(server):
    status, headers, body = request(server, "GET", "/api/nothing")
    assert status == 404 and "/api/nothing" in error_of(status, headers, body)
    status, headers, body = request(server, "GET", "/api/colorize")
    assert status == 405 and "Method Not Allowed" in error_of(status, headers, body)


# ---------------------------------------------------------------- colouring
def test_png_in_png_out_same_size_same_lightness(server):
    grey = grey_photo(37, 50)
    status, headers, body = colorize(server, "old photo.png", encode(grey), "image/png")
    assert status == 200, body[:300]
    assert headers["content-type"] == "image/png"
    assert "old photo_colour.png" in headers["content-disposition"]
    assert headers["x-kcolor-model"] == presets.DEFAULT_PRESET
    out = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    assert out.shape == grey.shape
    chroma = np.hypot(*np.moveaxis(color.rgb_to_lab(out / 255.0)[..., 1:], -1, 0))
    assert chroma.mean() > 5  # really coloured, not the grey photo sent back
    assert np.abs(lightness(out) - lightness(grey)).max() <= 1.5


def test_jpeg_in_jpeg_out(server):
    grey = grey_photo(40, 64, seed=1)
    data = encode(grey, "JPEG", quality=95)
    status, headers, body = colorize(server, "scan.JPG", data, "image/jpeg")
    assert status == 200, body[:300]
    assert headers["content-type"] == "image/jpeg"
    assert body[:3] == b"\xff\xd8\xff"
    assert "scan_colour.jpg" in headers["content-disposition"]
    out = Image.open(io.BytesIO(body))
    assert out.format == "JPEG" and out.size == (64, 40)
    sent = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    diff = np.abs(lightness(np.asarray(out.convert("RGB"))) - lightness(sent))
    assert diff.mean() < 1.5  # JPEG again on the way out: close, not exact


def test_content_decides_the_format_not_the_name(server):
    # PNG data named .jpg (like the article's photos) is coloured, and answered as PNG.
    status, headers, _ = colorize(server, "liar.jpg", encode(grey_photo()), "image/jpeg")
    assert status == 200 and headers["content-type"] == "image/png"


def test_model_field_picks_a_listed_model(server):
    other = [m["name"] for m in list_models(presets.DEFAULT_PRESET)][-1]
    status, headers, _ = colorize(server, "a.png", encode(grey_photo()), model=other)
    assert status == 200 and headers["x-kcolor-model"] == other


def _chroma(body):
    rgb = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    return float(np.hypot(*np.moveaxis(color.rgb_to_lab(rgb / 255.0)[..., 1:], -1, 0)).mean())


def test_vividness_field_sets_the_colour_strength(server):
    data = encode(grey_photo(seed=4))
    answers = {v: colorize(server, "v.png", data, vividness=v) for v in ("0", "0.5", "1")}
    assert all(status == 200 for status, _, _ in answers.values())
    assert {answers[v][1]["x-kcolor-vividness"] for v in answers} == {"0", "0.5", "1"}
    chroma = [_chroma(answers[v][2]) for v in ("0", "0.5", "1")]
    assert chroma[0] < chroma[1] < chroma[2], chroma
    # without the field: the model's own default, the same photo as 0.5 (and no header)
    status, headers, body = colorize(server, "v.png", data)
    assert status == 200 and "x-kcolor-vividness" not in headers
    assert body == answers["0.5"][2]


@pytest.mark.parametrize("value", ["abc", "1.5", "-0.1", "nan", "inf", ""])
def test_vividness_out_of_range_or_not_a_number_is_400(server, value):
    status, headers, body = colorize(server, "v.png", encode(grey_photo()), vividness=value)
    assert status == 400
    message = error_of(status, headers, body)
    assert message.startswith("v.png: vividness must be a number from 0 to 1"), message
    assert "0 muted, 0.5 the preset's balance, 1 vivid" in message and repr(value) in message


# ---------------------------------------------------------------- colour hints
def test_hints_field_colours_the_hinted_region(server):
    grey = np.full((40, 60, 3), 90, np.uint8)
    grey[:, 30:] = 220  # a strong edge: the hint stays on the dark side
    data = encode(grey)
    _, _, plain = colorize(server, "h.png", data)
    hints = json.dumps([{"x": 8, "y": 20, "color": "#4a8a10"}, [10, 30, "#4a8a10"]])
    status, headers, body = colorize(server, "h.png", data, hints=hints)
    assert status == 200, body[:300]
    out = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    ab = color.rgb_to_lab(out / 255.0)[..., 1:]
    # green all over the dark side (the stand-in network paints magenta: a > 0, b < 0)
    assert ab[:, :26, 0].mean() < -15 and ab[:, :26, 1].mean() > 15
    before = color.rgb_to_lab(np.asarray(Image.open(io.BytesIO(plain)).convert("RGB")) / 255.0)
    assert np.abs(ab[:, 34:] - before[:, 34:, 1:]).mean() < 1.5  # the bright side as before
    assert np.abs(lightness(out) - lightness(grey)).max() <= 1.5
    # the same photo again with another stroke: answered from the cached network colours
    more = json.dumps([{"points": [[40, 5], [55, 30]], "color": "#c0392b", "radius": 2}])
    status, _, body2 = colorize(server, "h.png", data, hints=more)
    assert status == 200 and body2 != body
    # no hints (or an empty list): exactly the plain answer
    assert colorize(server, "h.png", data, hints="[]")[2] == plain


@pytest.mark.parametrize(
    ("hints", "words"),
    [
        ('[{"x": 60, "y": 5, "color": "#ff0000"}]', "hint 1: the point (60, 5) is outside"),
        ('[[5, 5, "#ff0000"], [5, 5, "reddish"]]', "hint 2: cannot parse the colour 'reddish'"),
        ("[[5, 5", "the hints are not valid JSON"),
        (json.dumps([[1, 1, "#fff"]] * 501), "too many hint points: more than 500"),
    ],
)
def test_bad_hints_are_400_naming_the_problem(server, hints, words):
    status, headers, body = colorize(server, "h.png", encode(grey_photo(40, 60)), hints=hints)
    assert status == 400
    message = error_of(status, headers, body)
    assert message.startswith("h.png: ") and words in message, message


# ---------------------------------------------------------------- errors
def _truncated_png():
    rng = np.random.default_rng(3)
    data = encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("filename", "data", "status", "words"),
    [
        ("notes.jpg", b"this is a text file, not a photo\n", 400, "not an image"),
        ("half.png", _truncated_png(), 400, "truncated"),
        ("empty.png", b"", 400, "empty file"),
        # 600x600 = 360,000 pixels > the server's max_pixels (200,000), read from the header
        (
            "bomb.png",
            encode(np.zeros((600, 600, 3), np.uint8)),
            413,
            "the photo is 0.36 megapixels",
        ),
    ],
)
def test_bad_photo_answers_4xx_naming_the_file(server, filename, data, status, words):
    got, headers, body = colorize(server, filename, data)
    message = error_of(got, headers, body)
    assert got == status, message
    assert message.startswith(f"{filename}: ") and words in message
    assert "PIL" not in message and "Pillow" not in message  # the photo, not the library


def test_photo_over_the_size_limit_is_413(server):
    # 250 kB of photo > max_mb 0.2: refused from the form (the body is within its own slack)
    big = np.random.default_rng(0).integers(0, 256, (270, 300, 3), dtype=np.uint8)
    data = encode(big)
    assert 200_000 < len(data) < 264_000
    status, headers, body = colorize(server, "large.png", data)
    assert status == 413
    assert (
        error_of(status, headers, body)
        == "large.png: over the limit of 0.2 MB (kcolor serve --max-mb)"
    )


def test_body_over_the_limit_is_413_before_reading(server):
    body, ctype = multipart(files={"image": ("huge.png", b"\0" * 1_000_000, "image/png")})
    headers = {"Content-Type": ctype, "Expect": "100-continue"}
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:  # announce the size and wait: the answer comes before any of the body is sent
        conn.putrequest("POST", "/api/colorize")
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413
        assert "over the limit of 0.2 MB" in json.loads(resp.read())["error"]
    finally:
        conn.close()


def test_chunked_body_over_the_limit_is_413_naming_the_file(server):
    body, ctype = multipart(files={"image": ("stream.png", b"\0" * 1_000_000, "image/png")})
    status, headers, answer = request(
        server, "POST", "/api/colorize", body, {"Content-Type": ctype}, chunked=True
    )
    assert status == 413
    assert (
        error_of(status, headers, answer)
        == "stream.png: over the limit of 0.2 MB (kcolor serve --max-mb)"
    )


def test_form_errors(server):
    png = encode(grey_photo())
    cases = [
        (multipart({"image": "just text"}), 400, "the multipart field 'image' is not a file"),
        (multipart(files={"photo": ("a.png", png, "image/png")}), 400, "'image' is missing"),
        (
            multipart({"model": "nope"}, {"image": ("a.png", png, "image/png")}),
            400,
            "unknown model 'nope'",
        ),
    ]
    for (body, ctype), status, words in cases:
        got, headers, answer = request(
            server, "POST", "/api/colorize", body, {"Content-Type": ctype}
        )
        assert got == status and words in error_of(got, headers, answer)
    got, headers, answer = request(
        server, "POST", "/api/colorize", png, {"Content-Type": "image/png"}
    )
    assert got == 415 and "multipart/form-data" in error_of(got, headers, answer)
    got, headers, answer = request(
        server,
        "POST",
        "/api/colorize",
        b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
        {"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= got < 500 and error_of(got, headers, answer)
    two, ctype = multipart(
        files={"image": ("a.png", png, "image/png"), "other": ("b.png", png, "image/png")}
    )
    got, headers, answer = request(server, "POST", "/api/colorize", two, {"Content-Type": ctype})
    assert got == 400 and "malformed multipart form" in error_of(got, headers, answer)


def test_model_that_cannot_load_or_colour_answers_500_json():
    from kcolor.errors import WeightsError

    class Broken:
        def colorize(self, rgb):
            raise RuntimeError("out of cheese")

    def factory(name):
        if name == presets.DEFAULT_PRESET:
            raise WeightsError("weights/x.h5", "failed its SHA-256 check")
        return Broken()

    other = [m["name"] for m in list_models(presets.DEFAULT_PRESET)][-1]
    with BackgroundServer(create_app(colorizer_factory=factory)) as srv:
        png = encode(grey_photo())
        status, headers, body = colorize(srv, "a.png", png)
        assert status == 500
        message = error_of(status, headers, body)
        assert message.startswith(f"model {presets.DEFAULT_PRESET!r} cannot be loaded: ")
        assert "weights/x.h5: failed its SHA-256 check" in message
        status, headers, body = colorize(srv, "a.png", png, model=other)
        assert status == 500
        assert error_of(status, headers, body) == "unexpected RuntimeError: out of cheese"
        assert request(srv, "GET", "/api/models")[0] == 200  # the server goes on


# ---------------------------------------------------------------- a queue, one model
class SlowColorizer:
    """Wraps a real colorizer; sleeps inside colorize and records how many run at once."""

    def __init__(self):
        self.inner = tiny_colorizer()
        self.active = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def colorize(self, rgb):
        with self.lock:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(0.4)
            return self.inner.colorize(rgb)
        finally:
            with self.lock:
                self.active -= 1


def test_four_parallel_requests_all_complete_one_model_one_at_a_time():
    built = []

    def factory(name):
        built.append(name)
        return SlowColorizer()

    with BackgroundServer(create_app(colorizer_factory=factory)) as srv:
        photos = [grey_photo(24 + 8 * i, 40, seed=i) for i in range(4)]
        results = [None] * 4

        def post(i):
            results[i] = colorize(srv, f"p{i}.png", encode(photos[i]), "image/png")

        threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.3)  # the queue is busy now: the event loop must still answer
        t1 = time.monotonic()
        status, _, _ = request(srv, "GET", "/api/models")
        models_latency = time.monotonic() - t1
        for t in threads:
            t.join(60)
        total = time.monotonic() - t0
        assert status == 200
        for (status, _, body), grey in zip(results, photos, strict=True):
            assert status == 200, body[:200]
            out = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
            assert out.shape == grey.shape
            assert np.abs(lightness(out) - lightness(grey)).max() <= 1.5
        model = srv.app.state.models.get(presets.DEFAULT_PRESET)
    assert built == [presets.DEFAULT_PRESET]  # loaded once, lazily, and kept
    assert model.calls == 4 and model.most == 1  # a queue: one photo at a time
    assert total >= 4 * 0.4
    assert models_latency < total / 2  # not stuck behind the four photos


def test_nothing_is_left_on_disk(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(cwd)
    with BackgroundServer(create_app(colorizer_factory=tiny_colorizer, max_mb=5)) as srv:
        # > 1 MB: Starlette spools this part to a temporary file too
        noisy = np.random.default_rng(1).integers(0, 256, (700, 700, 3), dtype=np.uint8)
        data = encode(noisy)
        assert len(data) > 1_100_000
        assert colorize(srv, "noisy.png", data)[0] == 200
        assert colorize(srv, "bad.jpg", b"not a photo")[0] == 400
        assert colorize(srv, "half.png", _truncated_png())[0] == 400
    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []


# ---------------------------------------------------------------- limits: pixels, queue, memory
def test_photo_over_the_pixel_limit_is_413_before_any_pixel_is_decoded(monkeypatch):
    from PIL import ImageFile

    import kcolor.serve.uploads as serve_uploads

    decoded = []

    def no_decode(*args, **kwargs):
        decoded.append(args)
        raise AssertionError("the pixels of an over-limit photo must not be decoded")

    # Neither kcolor.io's reader nor Pillow's decoder may run: the header alone decides.
    monkeypatch.setattr(serve_uploads.kio, "load_image", no_decode)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    bomb = big_png(12960, 12960)  # 168 megapixels in 0.19 MB, a valid PNG
    assert len(bomb) < 200_000
    with BackgroundServer(create_app(colorizer_factory=tiny_colorizer)) as srv:  # the defaults
        t0 = time.monotonic()
        status, headers, body = colorize(srv, "attic scan.png", bomb, "image/png")
        seconds = time.monotonic() - t0
        assert status == 413
        assert error_of(status, headers, body) == (
            "attic scan.png: the photo is 168 megapixels (12960x12960); this server takes at "
            "most 40 megapixels (kcolor serve --max-pixels)"
        )
        # Over Pillow's own hard limit (2 x 89.5 MP): refused just the same, in our words.
        status, headers, body = colorize(srv, "huge.png", big_png(20000, 20000, pixels=False))
        message = error_of(status, headers, body)
        assert status == 413 and message.startswith("huge.png: the photo is 400 megapixels")
        assert "this server takes at most 40 megapixels" in message
        assert not any(w in message for w in ("PIL", "Pillow", "DOS", "bomb")), message
    assert decoded == []
    assert seconds < 5  # decoding 168 MP took 17 s (and 2.4 GB)


def test_photo_at_the_pixel_limit_is_coloured():
    app = create_app(colorizer_factory=tiny_colorizer, max_pixels=50 * 40)
    with BackgroundServer(app) as srv:
        assert colorize(srv, "fits.png", encode(grey_photo(40, 50)))[0] == 200
        status, headers, body = colorize(srv, "over.png", encode(grey_photo(41, 50)))
        assert status == 413 and "the photo is 0.00205 megapixels (50x41)" in error_of(
            status, headers, body
        )


class GatedColorizer:
    """A tiny colorizer that waits for ``gate`` before colouring (to fill the queue)."""

    def __init__(self):
        self.inner = tiny_colorizer()
        self.gate = threading.Event()
        self.calls = 0

    def colorize(self, rgb):
        self.calls += 1
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.colorize(rgb)


def _wait_for(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_full_queue_answers_503_with_retry_after():
    gated = GatedColorizer()
    app = create_app(colorizer_factory=lambda name: gated, max_queue=1)
    png = encode(grey_photo())
    with BackgroundServer(app) as srv:
        results = {}

        def post(key):
            results[key] = colorize(srv, f"{key}.png", png, "image/png")

        first = threading.Thread(target=post, args=("first",))
        first.start()
        _wait_for(lambda: gated.calls == 1, "the first photo to be coloured")
        second = threading.Thread(target=post, args=("second",))
        second.start()
        _wait_for(lambda: app.state.queue.waiting == 1, "the second photo to wait in line")
        try:
            t0 = time.monotonic()
            status, headers, body = colorize(srv, "third.png", png, "image/png")
            seconds = time.monotonic() - t0
        finally:
            gated.gate.set()
            first.join(60)
            second.join(60)
        assert status == 503 and seconds < 5
        assert headers["retry-after"].isdigit() and 1 <= int(headers["retry-after"]) <= 600
        message = error_of(status, headers, body)
        assert message == (
            "the server is busy: 1 photo is waiting to be coloured already, as many as it "
            f"keeps in line (kcolor serve --max-queue); try again in {headers['retry-after']} s"
        )
        assert results["first"][0] == 200 and results["second"][0] == 200
        assert colorize(srv, "fourth.png", png)[0] == 200  # room again
        assert app.state.queue.waiting == 0 and app.state.queue.working == 0


_SERVER_SCRIPT = """
import socket, sys
sys.path.insert(0, {tests!r})
import uvicorn
from test_serve import tiny_colorizer
from kcolor.serve.app import create_app

app = create_app(colorizer_factory=tiny_colorizer)  # kcolor serve's defaults
app.state.models.get(app.state.default_model)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"""

#: The bound on how much the server's peak RSS (VmHWM) may grow, over the warmed-up server,
#: under test_memory_stays_bounded_under_concurrent_large_uploads. Measured on the 2-core
#: test machine (CPU torch): +0.42 to +0.46 GB (437 MB warmed up, 858-892 MB at the peak);
#: one 30-MP photo alone takes +0.35 GB. Before the queue held whole photos one at a time,
#: the six 30-MP photos alone reached +0.95 GB (1.37 GB in all), and each 168-MP bomb was
#: decoded (2.4 GB each).
MEMORY_GROWTH_BOUND = 600e6


def _vm(pid, key):
    """``VmHWM`` / ``VmRSS`` of the process ``pid`` in bytes, from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} in /proc/{pid}/status")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc")
def test_memory_stays_bounded_under_concurrent_large_uploads():
    """Six 30-MP photos and three 168-MP bombs at once: the peak RSS stays under the bound."""
    from types import SimpleNamespace

    big = big_png(6325, 4743)  # 30.0 megapixels, 40 kB
    bomb = big_png(12960, 12960)
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER_SCRIPT.format(tests=tests)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        srv = SimpleNamespace(host="127.0.0.1", port=int(proc.stdout.readline()))
        assert colorize(srv, "warm-up.png", encode(grey_photo()))[0] == 200
        before = _vm(proc.pid, "VmHWM")
        uploads = [(f"big{i}.png", big) for i in range(6)] + [
            (f"bomb{i}.png", bomb) for i in range(3)
        ]
        results = {}

        def post(name, data):
            status, headers, body = colorize(srv, name, data, "image/png")
            size = Image.open(io.BytesIO(body)).size if status == 200 else None  # header only
            results[name] = (status, size)

        threads = [threading.Thread(target=post, args=u) for u in uploads]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        peak = _vm(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(30)
    assert results == {
        **{f"big{i}.png": (200, (6325, 4743)) for i in range(6)},
        **{f"bomb{i}.png": (413, None) for i in range(3)},
    }
    print(f"VmHWM {before / 1e6:.0f} MB warmed up, {peak / 1e6:.0f} MB at the peak")
    assert peak - before < MEMORY_GROWTH_BOUND, f"{before / 1e6:.0f} MB -> {peak / 1e6:.0f} MB"


# ---------------------------------------------------------------- the command
def test_serve_help_imports_neither_torch_nor_keras():
    code = (
        "import sys\n"
        "from kcolor.cli import main\n"
        "try:\n    main(['serve', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'keras', 'starlette', 'uvicorn'})\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "--max-mb" in out and "--host" in out and "/api/colorize" in out
    assert "--max-pixels" in out and "--max-queue" in out and "503" in out
    assert "HEAVY []" in out


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def _run_serve(monkeypatch, capsys, *argv):
    """`kcolor serve ARGV` with a tiny model and uvicorn's serving loop replaced by a stub."""
    import uvicorn

    import kcolor.serve.app as serve_app
    from kcolor.cli import main

    served = []
    monkeypatch.setattr(serve_app, "_load_colorizer", tiny_colorizer)
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets=None: served.append(sockets[0].getsockname())
    )
    code = main(["serve", *argv])
    return code, served, capsys.readouterr().err


def test_serve_binds_loopback_by_default_without_a_warning(monkeypatch, capsys):
    code, served, err = _run_serve(monkeypatch, capsys, "--port", "0")
    assert code == 0 and served[0][0] == "127.0.0.1"
    assert "warning" not in err and f"http://127.0.0.1:{served[0][1]}/" in err


def test_serve_passes_its_limits_to_the_app(monkeypatch, capsys):
    import uvicorn

    import kcolor.serve.app as serve_app
    from kcolor.cli import main

    apps = []
    serve = uvicorn.Server.run
    monkeypatch.setattr(serve_app, "_load_colorizer", tiny_colorizer)
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets=None: apps.append(self.config.app)
    )
    argv = ["serve", "--port", "0", "--max-pixels", "12e6", "--max-queue", "3", "--max-mb", "7"]
    assert main(argv) == 0
    for bad, words in (
        ("--max-pixels", "expected a positive number of pixels"),
        ("--max-queue", "expected a number of requests (0 or more)"),
    ):
        with pytest.raises(SystemExit):
            main(["serve", bad, "-1"])
        assert words in capsys.readouterr().err
    monkeypatch.setattr(uvicorn.Server, "run", serve)  # uvicorn's own loop, to ask the app
    status, _, body = _config_of(apps[0])
    assert status == 200 and json.loads(body) == {
        "default_model": presets.DEFAULT_PRESET,
        "default_vividness": 0.5,
        "max_bytes": 7_000_000,
        "max_mb": 7.0,
        "max_pixels": 12_000_000,
        "max_queue": 3,
    }


def _config_of(app):
    """``GET /api/config`` of an app, on a background server."""
    with BackgroundServer(app) as srv:
        return request(srv, "GET", "/api/config")


def test_serve_on_another_host_warns(monkeypatch, capsys):
    code, served, err = _run_serve(monkeypatch, capsys, "--host", "0.0.0.0", "--port", "0")
    assert code == 0 and served[0][0] == "0.0.0.0"
    assert "warning: listening on 0.0.0.0: anyone who can reach this computer" in err


def test_serve_port_in_use_exits_2(monkeypatch, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, served, err = _run_serve(monkeypatch, capsys, "--port", str(port))
    assert code == 2 and not served and f"cannot listen on 127.0.0.1 port {port}" in err


def test_serve_with_a_missing_model_exits_2(capsys):
    from kcolor.cli import main

    code = main(["serve", "--port", "0", "--model", os.path.join("no", "such", "run")])
    err = capsys.readouterr().err
    assert code == 2 and "no/such/run" in err.replace(os.sep, "/")
