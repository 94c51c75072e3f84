"""kcolor.video: reading/writing clips, steady colours, scene cuts, bad input (no network)."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

from kcolor import color  # noqa: E402
from kcolor.errors import VideoReadError, VideoWriteError  # noqa: E402
from kcolor.video import (  # noqa: E402
    Stabilizer,
    colorize_frames,
    colorize_video,
    flicker,
    is_scene_cut,
    probe,
)
from kcolor.video.stabilize import mismatch  # noqa: E402

W, H, N = 64, 48, 6


class StandIn:
    """A colouriser without a network: warm colours, plus per-frame noise (flicker)."""

    batch_size = 4

    def __init__(self, noise: float = 0.0, seed: int = 0):
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.calls = []

    def colorize_arrays(self, photos, rgbx=False):
        self.calls.append(len(photos))
        out = []
        for p in photos:
            assert p.dtype == np.uint8 and p.ndim == 2
            L = color.rgb_to_l(np.repeat(p[..., None], 3, -1))[..., 0]
            a = 20 + self.noise * self.rng.standard_normal()
            b = 30 + self.noise * self.rng.standard_normal()
            lab = np.stack([L, np.full_like(L, a), np.full_like(L, b)], -1)
            out.append(color.to_uint8(color.lab_to_rgb(lab)))
        return out


def _pattern(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A grey frame with a bright square moving right by 2 px a frame."""
    g = np.full((h, w), 60, np.uint8)
    x = 8 + 2 * i
    g[h // 4 : h // 4 + 16, x : x + 16] = 200
    return g


def make_clip(
    path,
    n=N,
    w=W,
    h=H,
    *,
    audio=False,
    rotation=0,
    pix_fmt="yuv420p",
    codec="libx264",
    pts=None,
    rate=24,
):
    """Write a tiny grey test clip with PyAV (optionally with sound, rotation, VFR)."""
    with av.open(os.fspath(path), "w") as c:
        v = c.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        if pts is not None:
            v.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            v.set_display_rotation(rotation)
        a = c.add_stream("aac", rate=8000) if audio else None
        for i in range(n):
            g = _pattern(i, w, h)
            f = av.VideoFrame.from_ndarray(np.repeat(g[..., None], 3, -1), format="rgb24")
            f = f.reformat(format=pix_fmt)
            if pts is not None:
                f.pts, f.time_base = pts[i], Fraction(1, 1000)
            for p in v.encode(f):
                c.mux(p)
        if a is not None:
            for k in range(n * 8000 // rate // 1024 + 1):
                tone = 0.1 * np.sin(np.arange(1024) * 0.05 + k).astype(np.float32)
                af = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
                af.sample_rate, af.pts = 8000, k * 1024
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


def _frames(path):
    with av.open(os.fspath(path)) as c:
        s = c.streams.video[0]
        return [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(s)]


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv"])
def test_video_round_trip_keeps_frames_size_rate_and_sound(tmp_path, ext):
    src = make_clip(tmp_path / f"in{ext}", audio=True)
    dst = tmp_path / f"out{ext}"
    result = colorize_video(StandIn(), src, dst, progress=False)
    assert result.frames == N and result.audio and result.audio.startswith("copied aac")
    info_in, info_out = probe(src), probe(dst)
    assert (info_out.width, info_out.height, info_out.frames) == (W, H, N)
    assert info_out.fps == info_in.fps
    assert info_out.audio == "aac"
    assert abs(info_out.duration - info_in.duration) < 1.5 / 24
    with av.open(os.fspath(src)) as a, av.open(os.fspath(dst)) as b:
        pa = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size]
    assert pa == pb  # the sound is copied packet for packet
    frames = _frames(dst)
    assert len(frames) == N
    rgb = frames[2][1]
    lab = color.rgb_to_lab(rgb)
    assert lab[..., 2].mean() > 10  # coloured (warm)
    truth_l = color.rgb_to_l(np.repeat(_pattern(2)[..., None], 3, -1))[..., 0]
    assert np.abs(lab[..., 0] - truth_l).mean() < 2.0  # lightness kept (through H.264)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temp left


def test_avi_and_webm_inputs(tmp_path):
    for ext, codec in ((".avi", "mpeg4"), (".webm", "libvpx-vp9")):
        if codec not in av.codecs_available:
            continue
        src = make_clip(tmp_path / f"in{ext}", codec=codec)
        result = colorize_video(StandIn(), src, tmp_path / f"out{ext}.mkv", progress=False)
        assert result.frames == N


def test_never_overwrites_unless_asked(tmp_path):
    src = make_clip(tmp_path / "in.mp4")
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(VideoWriteError, match="exists already"):
        colorize_video(StandIn(), src, dst, progress=False)
    assert dst.read_bytes() == b"keep me"
    colorize_video(StandIn(), src, dst, progress=False, overwrite=True)
    assert probe(dst).frames == N


def test_interrupt_leaves_nothing(tmp_path):
    src = make_clip(tmp_path / "in.mp4")

    class Interrupting(StandIn):
        def colorize_arrays(self, photos, rgbx=False):
            if self.calls:
                raise KeyboardInterrupt
            return super().colorize_arrays(photos)

    with pytest.raises(KeyboardInterrupt):
        colorize_video(
            Interrupting(), src, tmp_path / "out.mp4", progress=False, keyframe_interval=1
        )
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]


def test_crf_changes_the_output(tmp_path):
    src = make_clip(tmp_path / "in.mp4", n=4, w=128, h=96)
    small = colorize_video(StandIn(noise=3), src, tmp_path / "a.mp4", crf=45, progress=False)
    colorize_video(StandIn(noise=3), src, tmp_path / "b.mp4", crf=5, progress=False)
    assert small.encoder in ("libx264", "libopenh264", "h264", "mpeg4")
    if small.encoder == "libx264":
        assert os.path.getsize(tmp_path / "a.mp4") < os.path.getsize(tmp_path / "b.mp4")
    with pytest.raises(ValueError, match="crf"):
        colorize_video(StandIn(), src, tmp_path / "c.mp4", crf=99, progress=False)


# ---------------------------------------------------------------- bad input
def test_truncated_file_is_a_clear_error(tmp_path):
    src = make_clip(tmp_path / "in.mp4", n=12, w=128, h=96)
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(VideoReadError, match="cut.mp4"):
        colorize_video(StandIn(), bad, tmp_path / "out.mp4", progress=False)
    assert not (tmp_path / "out.mp4").exists()


def test_not_a_video_and_no_video_stream(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is no video" * 10)
    with pytest.raises(VideoReadError, match="junk.mp4: not a readable video"):
        probe(junk)
    sound = tmp_path / "sound.mkv"
    with av.open(os.fspath(sound), "w") as c:
        a = c.add_stream("aac", rate=8000)
        for k in range(4):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
            af.sample_rate, af.pts = 8000, k * 1024
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    with pytest.raises(VideoReadError, match="sound.mkv: holds no video stream"):
        colorize_video(StandIn(), sound, tmp_path / "out.mp4", progress=False)
    with pytest.raises(VideoReadError, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_huge_resolution_is_refused(tmp_path):
    src = make_clip(tmp_path / "in.mp4", n=2)
    with pytest.raises(VideoReadError, match="in.mp4: frames of 64x48 are over the limit"):
        colorize_video(StandIn(), src, tmp_path / "o.mp4", progress=False, max_pixels=1000)


def test_rotation_metadata_gives_upright_frames(tmp_path):
    src = make_clip(tmp_path / "in.mp4", rotation=90)
    info = probe(src)
    assert info.rotation == 90 and (info.width, info.height) == (H, W)
    colorize_video(StandIn(), src, tmp_path / "out.mp4", progress=False)
    out = probe(tmp_path / "out.mp4")
    assert (out.width, out.height, out.rotation) == (H, W, 0)
    pts, rgb = _frames(tmp_path / "out.mp4")[0]
    upright = np.rot90(_pattern(0), 1)  # counter-clockwise, as the display matrix says
    got = color.rgb_to_l(rgb)[..., 0]
    want = color.rgb_to_l(np.repeat(upright[..., None], 3, -1))[..., 0]
    assert np.abs(got - want).mean() < 2.0


def test_ten_bit_video(tmp_path):
    try:
        src = make_clip(tmp_path / "in.mkv", pix_fmt="yuv420p10le")
    except Exception:  # noqa: BLE001 - an 8-bit-only x264 build
        src = make_clip(tmp_path / "in.mkv", pix_fmt="yuv420p10le", codec="ffv1")
    assert "10" in probe(src).pix_fmt
    result = colorize_video(StandIn(), src, tmp_path / "out.mp4", progress=False)
    assert result.frames == N
    _, rgb = _frames(tmp_path / "out.mp4")[3]
    got = color.rgb_to_l(rgb)[..., 0]
    want = color.rgb_to_l(np.repeat(_pattern(3)[..., None], 3, -1))[..., 0]
    assert np.abs(got - want).mean() < 2.0


def test_variable_frame_rate_keeps_each_timestamp(tmp_path):
    pts = [0, 40, 80, 200, 240, 400]  # ms: gaps of 40, 120 and 160
    src = make_clip(tmp_path / "in.mkv", pts=pts)
    colorize_video(StandIn(), src, tmp_path / "out.mkv", progress=False)
    with av.open(os.fspath(tmp_path / "out.mkv")) as c:
        s = c.streams.video[0]
        got = [round(float(f.pts * f.time_base) * 1000) for f in c.decode(s)]
    assert got == pts


# ---------------------------------------------------------------- steady colours
def test_stabilisers_reduce_flicker_and_keep_lightness():
    frames = [_pattern(i, 96, 64) for i in range(10)]
    out = {}
    for method in ("none", "ema", "flow"):
        colorizer = StandIn(noise=6, seed=1)
        out[method] = list(colorize_frames(colorizer, frames, method=method, keyframe_interval=1))
    f = {m: flicker(v, frames) for m, v in out.items()}
    assert f["flow"] < f["none"] / 2 and f["ema"] < f["none"]
    for rgb, grey in zip(out["flow"], frames, strict=True):
        want = color.rgb_to_l(np.repeat(grey[..., None], 3, -1))
        assert np.abs(color.rgb_to_l(rgb) - want).max() < 1.0


def _textured(n: int = 12, w: int = 128, h: int = 96, step: float = 1.3) -> list:
    """Grey frames of a smooth random texture panning ``step`` px a frame (sub-pixel
    edges: what a flow misses by a fraction of a pixel)."""
    import cv2

    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (h, w + 40)).astype(np.float32), (0, 0), 2.0)
    big = cv2.normalize(big, None, 30, 220, cv2.NORM_MINMAX)
    moves = [np.float32([[1, 0, -step * i], [0, 1, 0]]) for i in range(n)]
    return [np.rint(cv2.warpAffine(big, m, (w, h))).astype(np.uint8) for m in moves]


def test_keyframe_colour_jumps_are_smoothed_where_the_flow_slips():
    # Each keyframe's network colour differs from the one carried along the flow (noise
    # per call); the old trust (grey compared pixel by pixel, 0.92) let it through on
    # every textured edge, the neighbourhood trust at 0.98 keeps the carried colour.
    frames = _textured()
    assert mismatch(frames[1], frames[1], 0).max() == 0
    old, new = [], []
    for seed in (0, 1):
        before = Stabilizer("flow", strength=0.92, tolerance=24.0, radius=0)
        out = colorize_frames(StandIn(noise=6, seed=seed), frames, stabilizer=before)
        old.append(flicker(list(out), frames))
        out = colorize_frames(StandIn(noise=6, seed=seed), frames)  # the defaults
        new.append(flicker(list(out), frames))
    assert np.mean(new) < 0.6 * np.mean(old), (new, old)


def test_scene_cut_stops_colour_bleeding():
    a = [_pattern(i, 96, 64) for i in range(4)]
    b = [np.full((64, 96), 230, np.uint8) - _pattern(i, 96, 64) // 2 for i in range(4)]
    assert not is_scene_cut(a[0], a[1]) and is_scene_cut(a[3], b[0])

    class TwoShots(StandIn):
        def colorize_arrays(self, photos, rgbx=False):
            out = super().colorize_arrays(photos)
            for p, o in zip(photos, out, strict=True):
                if p.mean() > 120:  # the second shot is blue
                    lab = color.rgb_to_lab(o)
                    lab[..., 1:] = (0.0, -40.0)
                    o[:] = color.to_uint8(color.lab_to_rgb(lab))
            return out

    stab = Stabilizer("flow", strength=0.95)
    out = list(colorize_frames(TwoShots(), a + b, stabilizer=stab))
    assert stab.cuts == [4]
    first_b = color.rgb_to_lab(out[4])
    assert first_b[..., 2].mean() < -30  # no warm colour carried over the cut


def test_batches_follow_batch_size():
    colorizer = StandIn()
    list(colorize_frames(colorizer, [_pattern(i) for i in range(10)], keyframe_interval=1))
    assert colorizer.calls == [4, 4, 2]
    sparse = StandIn()
    list(colorize_frames(sparse, [_pattern(i) for i in range(13)]))  # keyframes 0, 4, 8, 12
    assert sparse.calls == [4]
    with pytest.raises(ValueError, match="unknown stabilisation method"):
        Stabilizer("magic")


# ---------------------------------------------------------------- folder jobs and the API
def test_folder_with_photos_and_videos_goes_on_past_a_bad_video(tmp_path):
    from PIL import Image

    from kcolor.inference.batch import colorize_files

    album = tmp_path / "album"
    album.mkdir()
    Image.fromarray(_pattern(0)).save(album / "photo.png")
    make_clip(album / "good.mp4", audio=True)
    make_clip(
        album / "side.webm" if "libvpx-vp9" in av.codecs_available else album / "x.avi",
        codec="libvpx-vp9" if "libvpx-vp9" in av.codecs_available else "mpeg4",
    )
    (album / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + b"junk" * 50)
    (album / "notes.txt").write_text("not a photo")
    result = colorize_files(StandIn(), [album], tmp_path / "out", progress=False, crf=30)
    names = sorted(os.path.basename(p) for p in result.written)
    assert names == sorted(
        ["photo.png", "good.mp4", "side.mkv" if "libvpx-vp9" in av.codecs_available else "x.mkv"]
    )
    assert [os.path.basename(src) for src, _ in result.failed] == ["broken.mov"]
    assert "not a readable video" in result.failed[0][1]
    assert [os.path.basename(p) for p in result.ignored] == ["notes.txt"]
    assert probe(tmp_path / "out" / "good.mp4").audio == "aac"
    assert "FAILED" in result.summary()


def test_colorizer_colorize_video_delegates(tmp_path, monkeypatch):
    from kcolor.inference.colorizer import Colorizer

    seen = {}

    def fake(colorizer, src, dst, **kwargs):
        seen.update(colorizer=colorizer, src=src, dst=dst, **kwargs)
        return "done"

    monkeypatch.setattr("kcolor.video.colorize_video", fake)
    stand_in = object.__new__(Colorizer)
    assert stand_in.colorize_video("a.mp4", "b.mp4", crf=20) == "done"
    assert seen == {"colorizer": stand_in, "src": "a.mp4", "dst": "b.mp4", "crf": 20}


def test_cli_colorize_takes_crf():
    from kcolor import cli

    parser = cli.build_parser() if hasattr(cli, "build_parser") else None
    if parser is None:
        pytest.skip("no build_parser in kcolor.cli")
    args = parser.parse_args(["colorize", "film.mp4", "-o", "out", "--crf", "23"])
    assert args.crf == 23
    with pytest.raises(SystemExit):
        parser.parse_args(["colorize", "film.mp4", "-o", "out", "--crf", "60"])


def test_keyframes_colour_fewer_frames_and_respect_cuts():
    a = [_pattern(i, 96, 64) for i in range(7)]
    b = [np.full((64, 96), 230, np.uint8) - _pattern(i, 96, 64) // 2 for i in range(5)]
    every = StandIn()
    full = list(colorize_frames(every, a + b, method="none", keyframe_interval=1))
    sparse = StandIn()
    out = list(colorize_frames(sparse, a + b, method="none", keyframe_interval=3))
    assert len(out) == len(full) == 12
    # keyframes: 0, 3, 6 | cut at 7 (a keyframe), 10
    assert sum(sparse.calls) == 5 and sum(every.calls) == 12
    for x, y in zip(full, out, strict=True):
        assert np.abs(x.astype(int) - y.astype(int)).mean() < 2.0
    with pytest.raises(ValueError, match="keyframe_interval"):
        list(colorize_frames(StandIn(), a, keyframe_interval=0))


def test_join_grey_has_no_dither_and_keeps_lightness():
    from kcolor.video.join import join_grey

    grey = np.tile(np.arange(40, 200, 10, dtype=np.uint8), (12, 2))  # (12, 32), 16 levels
    ab = np.full((3, 4, 2), (13.0, 7.0), np.float32)  # between grid steps: dither would show
    out = join_grey(grey, ab)
    for level in np.unique(grey):
        colours = np.unique(out[grey == level], axis=0)
        assert len(colours) == 1  # one grey level, one colour: nothing moves with the image
    want = color.rgb_to_l(np.repeat(grey[..., None], 3, -1))
    assert np.abs(color.rgb_to_l(out) - want).max() < 1.0


def test_progress_callback_counts_frames_and_can_stop_the_job(tmp_path):
    src = make_clip(tmp_path / "in.mp4")
    seen = []
    colorize_video(
        StandIn(), src, tmp_path / "out.mp4", progress=False, on_progress=lambda *a: seen.append(a)
    )
    assert seen == [(i, N) for i in range(1, N + 1)]
    data = (tmp_path / "out.mp4").read_bytes()  # faststart: the index (moov) before the data
    assert 0 <= data.find(b"moov") < data.find(b"mdat")

    class Stop(Exception):
        pass

    def stop(done, total):
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        colorize_video(StandIn(), src, tmp_path / "cut.mp4", progress=False, on_progress=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]
