"""A malformed-and-odd image corpus, generated on the fly (nothing committed).

``make_corpus(folder)`` writes the files and returns ``{file name: (path, expectation)}`` where
``expectation`` is a dict:

* ``"load"``: ``"ok"`` (loads quietly), ``"warn"`` (loads, with an ``ExtensionMismatchWarning``)
  or ``"error"`` (raises ``kcolor.errors.ImageReadError``);
* ``"shape"``: the ``(H, W, 3)`` load_image returns (for ok/warn);
* ``"reason"``: a lower-case substring of the error's reason (for errors);
* ``"pixels"``: optional ``{(row, col): (r, g, b)}`` values to check, with ``"atol"``;
* ``"root_ok"``: True where running as root makes the error disappear (chmod 000).

The reliability tests reuse it: ``from corpus import make_corpus``.
"""

from __future__ import annotations

import functools
import io as _io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def colour_image(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth, colourful uint8 RGB test image (compresses well, has real chroma)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.5 + 0.5 * np.sin(x / max(w, 1) * 6.0 + seed)
    g = 0.5 + 0.5 * np.cos(y / max(h, 1) * 5.0 + 2 * seed)
    b = 0.5 + 0.5 * np.sin((x + y) / max(h + w, 1) * 7.0 + 3 * seed)
    return (np.stack([r, g, b], -1) * 255).round().astype(np.uint8)


#: EXIF values :func:`camera_jpeg` writes.
DATE_TAKEN, CAMERA = "1962:07:14 10:30:00", "Rolleiflex 2.8F"


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (littlecms's), as bytes: made once per process, since its header
    holds its creation time (two calls a second apart differ in one byte)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_jpeg(path, h: int = 20, w: int = 30, grey: bool = True) -> Path:
    """A JPEG as a camera writes it: EXIF DateTimeOriginal, Make/Model, Orientation 6 (turn
    90 degrees clockwise to display) and an sRGB ICC profile. Stored ``h x w``, displayed
    ``w x h``; a white 6x6 block in the stored top-left corner shows at the top right."""
    rgb = colour_image(h, w) if not grey else np.full((h, w, 3), 40, np.uint8)
    rgb[:6, :6] = 255
    exif = Image.Exif()
    exif[0x010F] = "Franke & Heidecke"  # Make
    exif[0x0110] = CAMERA  # Model
    exif[0x0112] = 6  # Orientation
    exif.get_ifd(0x8769)[0x9003] = DATE_TAKEN  # Exif IFD: DateTimeOriginal
    Image.fromarray(rgb).save(path, exif=exif, icc_profile=srgb_profile(), quality=95)
    return Path(path)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def fake_png_header(width: int, height: int) -> bytes:
    """A valid-looking PNG whose IHDR claims ``width x height`` but holds only a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)


def _encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_corpus(folder) -> dict[str, tuple[Path, dict]]:
    """Write the corpus into ``folder`` (created) and return ``{name: (path, expectation)}``."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    rgb = colour_image()
    h, w = rgb.shape[:2]
    cases: dict[str, tuple[Path, dict]] = {}

    def ok(name, shape=(h, w, 3), **extra):
        cases[name] = (d / name, {"load": "ok", "shape": shape, **extra})

    def bad(name, reason, **extra):
        cases[name] = (d / name, {"load": "error", "reason": reason, **extra})

    # --- plain and every PIL mode
    Image.fromarray(rgb).save(d / "rgb.png")
    ok("rgb.png", pixels={(0, 0): tuple(rgb[0, 0]), (h - 1, w - 1): tuple(rgb[-1, -1])}, atol=0)
    Image.fromarray(rgb).save(d / "rgb.jpg", quality=95)
    ok("rgb.jpg", pixels={(h // 2, w // 2): tuple(rgb[h // 2, w // 2])}, atol=12)
    grey = rgb[..., 1]
    Image.fromarray(grey, "L").save(d / "mode_l.png")
    ok("mode_l.png", pixels={(3, 4): (grey[3, 4],) * 3}, atol=0)
    Image.fromarray(grey > 127).save(d / "mode_1.png")
    ok("mode_1.png", pixels={(3, 4): (255 if grey[3, 4] > 127 else 0,) * 3}, atol=0)
    p_img = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p_img.save(d / "mode_p.png")
    p_rgb = np.asarray(p_img.convert("RGB"))
    ok("mode_p.png", pixels={(h // 2, w // 2): tuple(p_rgb[h // 2, w // 2])}, atol=0)

    # --- transparency onto white
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])
    rgba[:, : w // 2, 3] = 0  # left half fully transparent
    rgba[0, -1] = (0, 0, 255, 128)  # half-transparent blue
    Image.fromarray(rgba, "RGBA").save(d / "rgba.png")
    ok(
        "rgba.png",
        pixels={(5, 2): WHITE, (5, w - 2): tuple(rgb[5, w - 2]), (0, w - 1): (127, 127, 255)},
        atol=1,
    )
    la = np.dstack([grey, np.where(np.arange(w) < w // 2, 0, 255)[None].repeat(h, 0)])
    Image.fromarray(la.astype(np.uint8), "LA").save(d / "mode_la.png")
    ok("mode_la.png", pixels={(5, 2): WHITE, (5, w - 2): (grey[5, w - 2],) * 3}, atol=0)
    pal = Image.new("P", (w, h), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    pal.paste(2, (0, 0, w // 2, h))  # left half index 2 = blue, then made transparent
    pal.info["transparency"] = 2
    pal.save(d / "p_transparent.png", transparency=2)
    ok("p_transparent.png", pixels={(5, 2): WHITE, (5, w - 2): RED}, atol=0)

    # --- CMYK, 16-bit and float
    Image.fromarray(rgb).convert("CMYK").save(d / "cmyk.jpg", quality=95)
    ok("cmyk.jpg", pixels={(h // 2, w // 2): tuple(rgb[h // 2, w // 2])}, atol=40)
    g16 = (grey.astype(np.uint16) * 257).astype(np.uint16)
    g16[0, 0] = 65535
    g16[0, 1] = 0
    Image.fromarray(g16).save(d / "grey16.png")
    ok("grey16.png", pixels={(0, 0): WHITE, (0, 1): (0, 0, 0), (3, 4): (grey[3, 4],) * 3}, atol=0)
    f32 = grey.astype(np.float32) / 255.0
    Image.fromarray(f32, "F").save(d / "float32.tiff")
    ok("float32.tiff", pixels={(3, 4): (grey[3, 4],) * 3}, atol=1)
    i32 = grey.astype(np.int32) * 257
    Image.fromarray(i32, "I").save(d / "int32.tiff")
    ok("int32.tiff", pixels={(3, 4): (grey[3, 4],) * 3}, atol=1)

    # --- EXIF orientation 6 (rotate 90 CW on display): stored w x h, shown h x w
    exif = Image.Exif()
    exif[0x0112] = 6
    marked = rgb.copy()
    marked[:4, :4] = RED  # top-left corner red in storage -> top-right when displayed
    Image.fromarray(marked).save(d / "exif_rotated.jpg", exif=exif, quality=95)
    ok("exif_rotated.jpg", shape=(w, h, 3), pixels={(1, h - 2): RED}, atol=40)

    # --- animated GIF: first frame red, second blue
    frames = [Image.new("RGB", (w, h), RED), Image.new("RGB", (w, h), BLUE)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    ok("animated.gif", pixels={(5, 5): RED}, atol=0)

    # --- tiny sizes
    Image.fromarray(rgb[:1, :1]).save(d / "tiny_1x1.png")
    ok("tiny_1x1.png", shape=(1, 1, 3), pixels={(0, 0): tuple(rgb[0, 0])}, atol=0)
    Image.fromarray(rgb[:3, :5]).save(d / "tiny_3x5.png")
    ok("tiny_3x5.png", shape=(3, 5, 3))

    # --- already grey photo, stored as RGB
    g3 = np.repeat(grey[..., None], 3, -1)
    Image.fromarray(g3).save(d / "grey_rgb.jpg", quality=90)
    ok("grey_rgb.jpg", grey=True)

    # --- odd names
    Image.fromarray(rgb).save(d / "with space ünïcødé 写真.png")
    ok("with space ünïcødé 写真.png")

    # --- a lying extension: PNG (RGBA, like the article's alpha photos) named .jpg
    (d / "png_named.jpg").write_bytes(_encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    cases["png_named.jpg"] = (
        d / "png_named.jpg",
        {"load": "warn", "shape": (h, w, 3), "reason": "png", "pixels": {(5, 2): WHITE}, "atol": 0},
    )

    # --- errors
    (d / "zero_bytes.jpg").write_bytes(b"")
    bad("zero_bytes.jpg", "empty")
    jpg = _encoded(Image.fromarray(colour_image(64, 64)), "JPEG", quality=95)
    (d / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    bad("truncated.jpg", "truncated")
    png = _encoded(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "PNG"
    )
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    bad("truncated.png", "")
    (d / "text.jpg").write_text("this is not a photo\n" * 20)
    bad("text.jpg", "not an image")
    (d / "bomb.png").write_bytes(fake_png_header(30000, 30000))
    bad("bomb.png", "decompression bomb")
    (d / "folder.jpg").mkdir(exist_ok=True)
    bad("folder.jpg", "directory")
    link = d / "broken_link.jpg"
    if not os.path.lexists(link):
        os.symlink(d / "does_not_exist.jpg", link)
    bad("broken_link.jpg", "broken symbolic link")
    unreadable = d / "unreadable.png"
    Image.fromarray(rgb).save(unreadable)
    os.chmod(unreadable, 0)
    bad("unreadable.png", "permission denied", root_ok=True, shape=(h, w, 3))
    return cases
