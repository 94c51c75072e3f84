"""`kcolor serve`'s page in a real headless browser (Chromium driven by Playwright).

The browser is the system's Chromium (Debian's ``chromium`` package; ``.ci/run`` installs
it), or the one ``KCOLOR_CHROMIUM`` names; these tests skip, saying why, only when no
browser or no Playwright can be found. A tiny untrained network stands in for the presets.

Screenshots for the README (real default preset, real photos)::

    python tests/test_serve_browser.py --screenshots docs/
"""

import io
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("multipart", reason="needs the serve extra: pip install -e '.[serve]'")

from kcolor import color, presets  # noqa: E402
from kcolor.serve.app import create_app  # noqa: E402
from kcolor.serve.background import BackgroundServer  # noqa: E402

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """A Chromium executable: $KCOLOR_CHROMIUM, else the first of _CANDIDATES on PATH."""
    named = os.environ.get("KCOLOR_CHROMIUM")
    if named:
        return named if os.path.isfile(named) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright):
    args = ["--disable-dev-shm-usage", "--disable-gpu"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses root without it
    return playwright.chromium.launch(executable_path=find_browser(), headless=True, args=args)


def tiny_colorizer(name=None):
    """An untrained alpha (32,202 parameters) whose last bias paints strong colour."""
    import keras

    from kcolor.inference.colorizer import Colorizer
    from kcolor.models import alpha

    keras.utils.set_random_seed(0)
    model = alpha((None, None, 1))
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel, np.array([0.6, -0.5], np.float32)])
    return Colorizer(model, input_size=32)


def grey_photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    g = (30 + 120 * x / (w - 1) + 60 * y / (h - 1) + rng.integers(-20, 20, (h, w))).clip(0, 255)
    return np.repeat(g.astype(np.uint8)[..., None], 3, axis=-1)


def lightness(rgb):
    return color.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs Playwright (pip install playwright), which is not installed")
    if find_browser() is None:
        pytest.skip(
            "no Chromium found (apt-get install chromium, or set KCOLOR_CHROMIUM to one); "
            f"looked for $KCOLOR_CHROMIUM and {', '.join(_CANDIDATES)} on PATH"
        )
    pw = sync_playwright().start()
    try:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def server():
    with BackgroundServer(create_app(colorizer_factory=tiny_colorizer)) as srv:
        yield srv


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    problems = []
    pg.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.goto(server.url)
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    context.close()
    # 4xx (and a busy server's 503) answers of the error tests show up as console errors of
    # the request itself
    assert not [p for p in problems if not re.search(r"status of (4\d\d|503)\b", p)], problems


def download(page, selector, tmp_path):
    with page.expect_download(timeout=30_000) as info:
        page.click(selector)
    d = info.value
    target = tmp_path / d.suggested_filename
    d.save_as(target)
    return target


def test_model_menu_lists_the_installed_presets_with_the_default(page):
    options = page.eval_on_selector_all(
        "#model option", "os => os.map(o => [o.value, o.textContent, o.selected])"
    )
    assert options[0] == [presets.DEFAULT_PRESET, f"{presets.DEFAULT_PRESET} (default)", True]
    assert {o[0] for o in options} <= set(presets.list_presets())


def test_grey_photo_coloured_downloaded_full_size_same_lightness(page, tmp_path):
    grey = grey_photo(45, 70)
    src = tmp_path / "grandma.png"
    Image.fromarray(grey).save(src)
    page.set_input_files("#files", str(src))
    card = page.wait_for_selector(".card[data-state='done']", timeout=60_000)
    assert card.get_attribute("data-name") == "grandma.png"
    # before/after with a slider that moves the split
    assert page.eval_on_selector(".compare img.after", "i => i.naturalWidth") == 70
    page.eval_on_selector(
        ".compare input[type=range]",
        "s => { s.value = 20; s.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    assert page.eval_on_selector(".compare", "c => c.style.getPropertyValue('--pos')") == "20%"
    assert "70×45" in card.inner_text()
    assert page.inner_text("#summary") == "1 coloured"

    saved = download(page, ".card .download", tmp_path)
    assert saved.name == "grandma_colour.png"
    out = Image.open(saved)
    assert out.format == "PNG" and out.size == (70, 45)
    rgb = np.asarray(out.convert("RGB"))
    assert np.abs(lightness(rgb) - lightness(grey)).max() <= 1.5
    assert np.abs(rgb.astype(int) - grey).max() > 10  # coloured, not the grey photo back


def test_colour_hints_drawn_on_the_photo_recolour_it_undo_and_download(page, tmp_path):
    grey = np.full((120, 200, 3), 90, np.uint8)
    grey[:, 100:] = 225  # a strong edge: the green stays on the dark side
    src = tmp_path / "street.png"
    Image.fromarray(grey).save(src)
    page.set_input_files("#files", str(src))
    page.wait_for_selector(".card[data-state='done']", timeout=60_000)
    page.click(".card .hints-open")
    page.wait_for_function("() => document.querySelector('.hintpad canvas').width === 200")
    page.eval_on_selector(
        ".card input[type=color]",
        "p => { p.value = '#4a8a10'; p.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    box = page.query_selector(".hintpad canvas").bounding_box()
    x0, y0, sx = box["x"], box["y"], box["width"] / 200
    page.mouse.move(x0 + 20 * sx, y0 + 30 * sx)
    page.mouse.down()
    for k in range(1, 6):  # a stroke down the dark half
        page.mouse.move(x0 + (20 + 8 * k) * sx, y0 + (30 + 12 * k) * sx)
    page.mouse.up()
    page.wait_for_selector(".card[data-state='done'][data-hints='1']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('.card').classList.contains('refreshing')"
    )
    saved = download(page, ".card .download", tmp_path)
    rgb = np.asarray(Image.open(saved).convert("RGB"))
    assert rgb.shape == (120, 200, 3)
    ab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:]
    # green over the dark half (the stand-in network paints magenta: a > 0, b < 0)
    assert ab[:, :90, 0].mean() < -15 and ab[:, :90, 1].mean() > 15
    assert np.abs(lightness(rgb) - lightness(grey)).max() <= 1.5
    page.click(".card .hints-undo")
    page.wait_for_selector(".card[data-state='done'][data-hints='0']", timeout=60_000)
    assert page.is_disabled(".card .hints-undo")


def test_bad_file_shows_a_message_naming_it_and_the_others_go_on(page, tmp_path):
    good = tmp_path / "street.jpg"
    Image.fromarray(grey_photo(40, 56, seed=2)).save(good, quality=95)
    fake = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"just some text\n"}
    other = tmp_path / "field.png"
    Image.fromarray(grey_photo(32, 48, seed=3)).save(other)
    page.set_input_files("#files", [str(good)])
    page.set_input_files("#files", [fake])
    page.set_input_files("#files", [str(other)])
    page.wait_for_function(
        "() => document.querySelectorAll('.card[data-state=done], .card[data-state=error]').length === 3",
        timeout=60_000,
    )
    message = page.inner_text(".card[data-state='error'] .error")
    assert message.startswith("notes.jpg: ") and "not an image" in message
    assert page.get_attribute(".card[data-state='error']", "data-name") == "notes.jpg"
    names = page.eval_on_selector_all(
        ".card[data-state='done']", "cs => cs.map(c => c.dataset.name)"
    )
    assert names == ["street.jpg", "field.png"]
    assert page.inner_text("#summary") == "2 coloured · 1 failed"

    # JPEG in, JPEG out
    jpeg = download(page, ".card[data-name='street.jpg'] .download", tmp_path)
    assert jpeg.name == "street_colour.jpg" and Image.open(jpeg).format == "JPEG"

    # all of them as one zip, read back by Python's zipfile
    archive = download(page, "#zip", tmp_path)
    with zipfile.ZipFile(archive) as z:
        assert z.testzip() is None
        assert z.namelist() == ["street_colour.jpg", "field_colour.png"]
        assert z.read("street_colour.jpg") == jpeg.read_bytes()
        inner = Image.open(io.BytesIO(z.read("field_colour.png")))
        assert inner.size == (48, 32)


def _chroma(path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    return float(np.hypot(*np.moveaxis(color.rgb_to_lab(rgb / 255.0)[..., 1:], -1, 0)).mean())


def test_colour_strength_slider_colours_the_photos_again(page, tmp_path):
    assert page.input_value("#vividness") == "50"  # the default model's default, 0.5
    assert page.inner_text("#vividness-value") == "50 %"
    src = tmp_path / "harbour.png"
    Image.fromarray(grey_photo(40, 60, seed=7)).save(src)
    page.set_input_files("#files", str(src))
    card = ".card[data-name='harbour.png']"
    page.wait_for_selector(f"{card}[data-state='done'][data-vividness='50']", timeout=60_000)
    (tmp_path / "50").mkdir()
    at_50 = download(page, f"{card} .download", tmp_path / "50")
    before_src = page.get_attribute(f"{card} img.after", "src")
    answers = []  # the vividness each colorize answer says it used
    page.on(
        "response",
        lambda r: (
            answers.append(r.headers.get("x-kcolor-vividness")) if "colorize" in r.url else None
        ),
    )

    # Drag the slider (many input events): one request, once it rests, at the last value.
    page.eval_on_selector(
        "#vividness",
        "s => { for (const v of [60, 70, 80, 90, 100]) { s.value = v; "
        "s.dispatchEvent(new Event('input', {bubbles: true})); } }",
    )
    assert page.inner_text("#vividness-value") == "100 %"
    page.wait_for_selector(f"{card}[data-state='done'][data-vividness='100']", timeout=60_000)
    assert page.get_attribute(f"{card} img.after", "src") != before_src  # a new picture
    assert answers == ["1"]
    assert "100 %" in page.inner_text(f"{card} .meta")
    (tmp_path / "100").mkdir()
    at_100 = download(page, f"{card} .download", tmp_path / "100")
    assert _chroma(at_100) > _chroma(at_50) + 1, (_chroma(at_50), _chroma(at_100))
    grey = np.asarray(Image.open(src).convert("RGB"))
    assert (
        np.abs(lightness(np.asarray(Image.open(at_100).convert("RGB"))) - lightness(grey)).max()
        <= 1.5
    )


def buttons(page, selector):
    """The texts of the buttons in the card ``selector``."""
    return page.eval_on_selector_all(
        f"{selector} .actions button", "bs => bs.map(b => b.textContent)"
    )


def test_failed_file_is_not_offered_colour_again(page, tmp_path):
    fake = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"just some text\n"}
    page.set_input_files("#files", [fake])
    page.wait_for_selector(".card[data-state='error']", timeout=60_000)
    # Sending the same text file again cannot help: no button at all.
    assert buttons(page, ".card[data-name='notes.jpg']") == []

    # A busy server (503): trying again later can help, so "Try again" is offered.
    good = tmp_path / "pier.png"
    Image.fromarray(grey_photo(30, 40, seed=5)).save(good)
    busy = {"error": "the server is busy: 8 photos are waiting to be coloured already"}
    page.route(
        "**/api/colorize",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "3"},
            content_type="application/json",
            body=json.dumps(busy),
        ),
    )
    page.set_input_files("#files", str(good))
    card = ".card[data-name='pier.png']"
    page.wait_for_selector(f"{card}[data-state='error']", timeout=60_000)
    assert page.inner_text(f"{card} .error") == f"pier.png: {busy['error']}"
    assert buttons(page, card) == ["Try again"]
    page.unroute("**/api/colorize")
    page.click(f"{card} button")
    page.wait_for_selector(f"{card}[data-state='done']", timeout=60_000)
    # a coloured photo may go again, or get colour hints
    assert buttons(page, card) == ["Colour again", "Colour hints"]
    assert buttons(page, ".card[data-name='notes.jpg']") == []
    assert page.inner_text("#summary") == "1 coloured · 1 failed"


# Where each line of a text ends: [the text so far, the next character] for each line break.
_LINE_BREAKS = """(el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let text = "", last = null;
    const breaks = [];
    for (let n; (n = walker.nextNode());) {
        for (let i = 0; i < n.length; i++) {
            const r = document.createRange();
            r.setStart(n, i); r.setEnd(n, i + 1);
            const box = [...r.getClientRects()].find((b) => b.width > 0);
            if (box && last !== null && box.top > last + 2) breaks.push([text, n.data[i]]);
            if (box) last = box.top;
            text += n.data[i];
        }
    }
    return breaks;
}"""


def test_long_file_names_are_cut_with_an_ellipsis_not_broken_mid_word(page, tmp_path):
    long_name = "grandparents_wedding_day_in_front_of_the_old_church_summer-1952_scan-0042.png"
    src = tmp_path / long_name
    Image.fromarray(grey_photo(30, 40, seed=6)).save(src)
    bad_name = "a_very_long_name_of_a_text_file_that_only_pretends_to_be_a_photo-copy-2.jpg"
    page.set_input_files("#files", [str(src)])
    page.set_input_files(
        "#files", [{"name": bad_name, "mimeType": "image/jpeg", "buffer": b"text"}]
    )
    page.wait_for_function(
        "() => document.querySelectorAll('.card[data-state=done], .card[data-state=error]').length === 2",
        timeout=60_000,
    )
    for name in (long_name, bad_name):
        shown = page.eval_on_selector(
            f".card[data-name='{name}'] .name",
            """(el) => ({
                text: el.textContent, title: el.title,
                lines: el.getClientRects().length,
                height: el.getBoundingClientRect().height,
                lineHeight: parseFloat(getComputedStyle(el).lineHeight),
                cut: el.scrollWidth > el.clientWidth,
                overflow: getComputedStyle(el).textOverflow,
                inside: el.getBoundingClientRect().right <= el.closest('.card').getBoundingClientRect().right,
            })""",
        )
        # One line, cut with an ellipsis; the whole name in the tooltip.
        assert shown["text"] == name and shown["title"] == name
        assert shown["height"] < 1.5 * shown["lineHeight"], shown
        assert shown["cut"] and shown["overflow"] == "ellipsis" and shown["inside"], shown
    # The error message names the file in full, wrapping only at spaces and separators.
    breaks = page.eval_on_selector(f".card[data-name='{bad_name}'] .error", _LINE_BREAKS)
    assert breaks, "the message fits on one line: the test proves nothing"
    for before, after in breaks:
        assert before[-1] in " _-./" or after == " ", f"broken mid-word: {before!r} | {after!r}"
    assert page.inner_text(f".card[data-name='{bad_name}'] .error").startswith(bad_name + ": ")


def test_phone_sized_screen(browser, server, tmp_path):
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        src = tmp_path / "wide.png"
        Image.fromarray(grey_photo(60, 160, seed=4)).save(src)
        page.set_input_files("#files", str(src))
        page.wait_for_selector(".card[data-state='done']", timeout=60_000)
        layout = page.evaluate(
            """() => ({
                stack: ['.toolbar', '#drop', '#summary', '.card'].map(
                    s => [document.querySelector(s).getBoundingClientRect().top,
                          document.querySelector(s).getBoundingClientRect().bottom]),
                overflow: document.documentElement.scrollWidth - window.innerWidth,
                card: document.querySelector('.card').getBoundingClientRect().width,
                shown: document.querySelector('.compare img.after').getBoundingClientRect().width,
                button: document.querySelector('.card .download').getBoundingClientRect().right,
            })"""
        )
        stack = layout["stack"]  # toolbar, drop zone, summary, first card: one under the other
        assert all(top < bottom for top, bottom in stack), stack
        assert all(a[1] <= b[0] + 0.5 for a, b in zip(stack[:-1], stack[1:], strict=True)), stack
        assert layout["overflow"] <= 0  # no sideways scrolling
        assert 330 <= layout["card"] <= 375  # one column, the screen's width
        assert layout["shown"] >= 330 and layout["button"] <= 375
    finally:
        context.close()


# ---------------------------------------------------------------- README screenshots
def _screenshots(out_dir: Path) -> None:
    """docs/serve.png (desktop) and docs/serve_phone.png with the default preset on real photos."""
    from playwright.sync_api import sync_playwright

    repo = Path(__file__).resolve().parents[1]
    photos = [
        repo.parent / "shared/data/article/test" / name
        for name in ("0fAtAB.jpg", "6v14hm.jpg", "4r3yxj.jpg")
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(create_app()) as srv, sync_playwright() as pw:
        b = launch(pw)
        for name, viewport, scale, files in (
            ("serve.png", {"width": 1280, "height": 900}, 1, photos),
            ("serve_phone.png", {"width": 390, "height": 844}, 2, photos[:1]),
        ):
            ctx = b.new_context(viewport=viewport, device_scale_factor=scale)
            pg = ctx.new_page()
            pg.goto(srv.url)
            pg.wait_for_selector("body[data-ready='1']")
            pg.set_input_files("#files", [str(p) for p in files])
            pg.set_input_files(
                "#files", [{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"text"}]
            )
            pg.wait_for_function(
                f"() => document.querySelectorAll('.card[data-state=done], .card[data-state=error]').length === {len(files) + 1}",
                timeout=300_000,
            )
            pg.eval_on_selector_all(
                ".compare input[type=range]",
                "ss => ss.forEach(s => { s.value = 40; s.dispatchEvent(new Event('input')); })",
            )
            pg.screenshot(path=str(out_dir / name), full_page=name == "serve.png")
            print(json.dumps({"wrote": str(out_dir / name)}))
            ctx.close()
        b.close()


if __name__ == "__main__":
    if sys.argv[1:2] != ["--screenshots"] or len(sys.argv) != 3:
        sys.exit("usage: python tests/test_serve_browser.py --screenshots OUT_DIR")
    _screenshots(Path(sys.argv[2]))
