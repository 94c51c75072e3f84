"""Colour hints on the fast path (kcolor.fast.FastColorizer, the exported graph).

Both colourisers finish a photo with the same code (kcolor.inference.hints.finish), so with
the same hints the fast path gives the Keras path's colours (max |delta ab| <= 1, as
tests/test_export.py checks without hints); without hints its output is exactly as before;
and the CLI and the server colour with hints without importing Keras or torch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from kcolor import color
from kcolor.errors import HintError
from kcolor.fast import FastColorizer
from kcolor.fast.engine import load_colorizer
from kcolor.inference.colorizer import Colorizer


def _photo(h, w, seed=0):
    """A grey photo with regions and edges (gradients, a bright block, noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    grey = 110 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0) + rng.normal(0, 6, (h, w))
    grey[h // 3 :, w // 2 :] += 90
    return np.clip(grey, 0, 255).astype(np.uint8)


def _hints(h, w):
    return [
        (w // 5, h // 4, "#c0392b"),
        {"x": w - 5, "y": h - 4, "color": "#2050d0", "radius": 3},
        {"points": [[2, h - 3], [w // 3, h // 2], [w // 2 - 2, 2]], "color": "#40b030"},
    ]


def _scribble(h, w):
    s = np.zeros((h, w, 4), np.uint8)
    s[h // 2 : h // 2 + 3, 4 : w // 3] = [200, 160, 20, 255]
    return s


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    """A preset folder of the article's tiny alpha network with its export (model.onnx),
    its last bias set so that it paints a strong colour of its own."""
    import keras

    from kcolor import models
    from kcolor.presets import save_to_preset

    keras.utils.set_random_seed(1)
    model = models.alpha((None, None, 1))
    last = model.layers[-1]
    last.set_weights([last.get_weights()[0], np.array([0.5, -0.4], np.float32)])
    folder = tmp_path_factory.mktemp("presets") / "tiny"
    save_to_preset(
        model, folder, builder="alpha", args={"input_shape": [None, None, 1]}, input_size=64
    )
    return folder


@pytest.fixture(scope="module")
def both(tiny_preset):
    fast = load_colorizer(tiny_preset)
    assert isinstance(fast, FastColorizer)
    return fast, Colorizer.from_preset(tiny_preset)


def _ab_of(colorizer, photo, monkeypatch, **kwargs):
    """The ab the colouriser joins to the photo's L (before uint8 rounding), and its output."""
    seen = []
    original = color.join_lightness

    def spy(image, ab, **kw):
        seen.append(np.array(ab, np.float32))
        return original(image, ab, **kw)

    monkeypatch.setattr(color, "join_lightness", spy)
    try:
        rgb = colorizer.colorize(photo, **kwargs)
    finally:
        monkeypatch.setattr(color, "join_lightness", original)
    (ab,) = seen
    return ab, rgb


@pytest.mark.parametrize("size", [(64, 96), (150, 70)])
@pytest.mark.parametrize("vividness", [None, 1.0])
def test_fast_and_keras_agree_with_the_same_hints(both, size, vividness, monkeypatch):
    fast, slow = both
    h, w = size
    photo = _photo(h, w)
    for hints in (_hints(h, w), _scribble(h, w)):
        ab_fast, rgb_fast = _ab_of(fast, photo, monkeypatch, hints=hints, vividness=vividness)
        ab_slow, rgb_slow = _ab_of(slow, photo, monkeypatch, hints=hints, vividness=vividness)
        assert ab_fast.shape == ab_slow.shape == (h, w, 2)  # the working size: the photo's
        worst = float(np.abs(ab_fast - ab_slow).max())
        assert worst <= 1.0, f"{h}x{w} vividness {vividness}: max |delta ab| {worst:.3f}"
        same = np.all(rgb_fast == rgb_slow, axis=-1).mean()
        assert same > 0.99, f"only {same:.2%} pixels equal"
        # and the hints did act: the output is not the network's alone
        plain = fast.colorize(photo, vividness=vividness)
        assert np.abs(color.rgb_to_lab(rgb_fast) - color.rgb_to_lab(plain)).max() > 20


def test_fast_hints_colour_the_region_and_keep_lightness(both):
    fast, _ = both
    photo = np.full((48, 80), 90, np.uint8)
    photo[:, 40:] = 220  # a strong edge
    plain = fast.colorize(photo)
    out = fast.colorize(photo, hints=[(8, 20, "#2050d0")])
    ab, ab_plain = color.rgb_to_lab(out)[..., 1:], color.rgb_to_lab(plain)[..., 1:]
    assert ab[:, :36, 1].mean() < -30  # blue over the dark half
    assert np.abs(ab[:, 44:] - ab_plain[:, 44:]).mean() < 0.5  # beyond the edge as before
    grey = np.repeat(photo[..., None], 3, -1)
    assert np.abs(color.rgb_to_lab(out)[..., 0] - color.rgb_to_lab(grey)[..., 0]).max() < 0.6


def test_no_hints_is_exactly_todays_fast_output(both):
    fast, _ = both
    photo = _photo(64, 96)
    rgb = np.stack([photo, photo // 2 + 40, photo], axis=-1)
    for p in (photo, rgb):
        today = fast.colorize(p)
        assert np.array_equal(fast.colorize(p, hints=None), today)
        assert np.array_equal(fast.colorize(p, hints=[]), today)
        # the network's ab alone, joined as colorize joins it
        [ab] = fast.colorize_arrays([p], ab_only=True)
        assert ab.dtype == np.float32 and ab.shape[2] == 2 and ab.shape[:2] != p.shape[:2]
        assert np.array_equal(color.join_lightness(p, ab), today)
    batch = fast.colorize([photo, rgb], hints=[None, []])
    assert np.array_equal(batch[0], fast.colorize(photo))
    with pytest.raises(HintError, match="for 2 photos, give a list of 2 hints"):
        fast.colorize([photo, rgb], hints=[(3, 3, "#fff")])


def test_fast_path_refuses_bad_hints_before_the_graph_runs(both, monkeypatch):
    fast, _ = both

    def no_graph(*args, **kwargs):
        raise AssertionError("the graph ran")

    monkeypatch.setattr(fast.session, "run", no_graph)
    with pytest.raises(HintError, match=r"hint 2: the point \(96, 10\) is outside the 96x64"):
        fast.colorize(_photo(64, 96), hints=[(5, 5, "#fff"), (96, 10, "#ff0000")])


def test_cli_and_server_colour_with_hints_without_keras(tmp_path):
    """`kcolor colorize --hints` and `kcolor serve` with hints: the default preset's export."""
    Image.fromarray(_photo(60, 80)).save(tmp_path / "one.png")
    (tmp_path / "hints.json").write_text(json.dumps([[10, 20, "#c0392b"]]))
    code = textwrap.dedent(
        f"""
        import http.client, io, json, sys, uuid
        from kcolor.cli import main
        assert main(["colorize", {str(tmp_path / "one.png")!r}, "-o", {str(tmp_path / "out")!r},
                     "--hints", {str(tmp_path / "hints.json")!r}, "-q"]) == 0
        from kcolor.serve.app import create_app
        from kcolor.serve.background import BackgroundServer
        data = open({str(tmp_path / "one.png")!r}, "rb").read()
        b = uuid.uuid4().hex
        body = (f'--{{b}}\\r\\nContent-Disposition: form-data; name="hints"\\r\\n\\r\\n'
                '[[10, 20, "#c0392b"]]\\r\\n'
                f'--{{b}}\\r\\nContent-Disposition: form-data; name="image"; filename="a.png"'
                '\\r\\nContent-Type: image/png\\r\\n\\r\\n').encode() + data + (
                f'\\r\\n--{{b}}--\\r\\n').encode()
        with BackgroundServer(create_app()) as srv:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            conn.request("POST", "/api/colorize", body,
                         {{"Content-Type": "multipart/form-data; boundary=" + b}})
            answer = conn.getresponse()
            print("STATUS", answer.status, answer.read()[:0])
        heavy = [m for m in sys.modules if m.split(".")[0] in ("torch", "keras")
                 or m.startswith(("kcolor.models", "kcolor.inference.colorizer"))]
        print("HEAVY", heavy[:8])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "STATUS 200" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "HEAVY []" in done.stdout, done.stdout
    out = np.asarray(Image.open(tmp_path / "out" / "one.png").convert("RGB"))
    assert color.rgb_to_lab(out)[15:25, 5:15, 1].mean() > 10  # the red hint's a
