"""The one HTML page shell of kcolor's reports: ``<!DOCTYPE html>``, the style, the title.

Every report page (a training run's, ``kcolor evaluate``'s, ``kcolor data clean``'s) is
:func:`page` around its own body, so they share one look and one place that escapes. The
body is HTML made by the caller; plain text that goes into it passes through
:func:`escape` (or :func:`kv_table`, :func:`img_tag`, which escape for you).

Example:
    >>> from kcolor.report.html import page
    >>> text = page("Run <3>", "<p>hello</p>", subtitle=["runs/3"], stamp=False)
    >>> text.startswith("<!DOCTYPE html>"), "<h1>Run &lt;3&gt;</h1>" in text
    (True, True)
"""

from __future__ import annotations

import base64
import datetime
import html

__all__ = ["CSS", "escape", "html_page", "img_tag", "kv_table", "page"]

#: The style of every kcolor report page.
CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 24px auto; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
figure { margin: 0 0 18px 0; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f3f3f3; }
td.best { background: #d9f2d0; font-weight: bold; }
.kv th { text-align: left; }
.kv td { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.row figure { flex: 0 1 340px; min-width: 220px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .v { font-size: 1.3em; font-weight: bold; }
.card .k { color: #666; font-size: 0.85em; }
"""


def escape(text) -> str:
    """Plain text (anything, through ``str``) made safe inside HTML, quotes included.

    Example:
        >>> escape('a < b & "c"')
        'a &lt; b &amp; &quot;c&quot;'
    """
    return html.escape(str(text))


def page(title: str, body: str, *, subtitle=(), css: str = CSS, stamp: bool = True) -> str:
    """One self-contained HTML page: the shell around ``body``.

    Args:
        title: the page's ``<title>`` and ``<h1>``, plain text (escaped here).
        body: the page's HTML after the title (not escaped: build it with :func:`escape`).
        subtitle: plain-text parts of the grey line under the title (escaped here), joined
            by a middle dot.
        css: the style sheet (default :data:`CSS`, kcolor's report style).
        stamp: end the subtitle with the current date and time.

    Returns:
        The page as a string, ready to write as UTF-8.

    Example:
        >>> text = page("Cleaning", "<p>3 kept</p>", stamp=False)
        >>> "<title>Cleaning</title>" in text and text.endswith("<p>3 kept</p></body></html>\\n")
        True
    """
    parts = [escape(part) for part in subtitle]
    if stamp:
        parts.append(datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    sub = f'<p class="sub">{" &middot; ".join(parts)}</p>' if parts else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{css}</style></head><body>"
        f"<h1>{escape(title)}</h1>{sub}{body}</body></html>\n"
    )


def html_page(title: str, sections, subtitle=()) -> str:
    """:func:`page` of HTML fragments, in order, with the date and time in the subtitle.

    Args:
        title: the page title and ``<h1>`` (plain text, escaped here).
        sections: HTML fragments (e.g. ``"<h2>..</h2>"`` + a table or :func:`img_tag`).
        subtitle: plain-text parts of the line under the title (escaped here).

    Returns:
        The page as a string, ready to write as UTF-8.

    Example:
        >>> text = html_page("Run 3", ["<h2>Loss</h2><p>0.01</p>"], subtitle=["runs/3"])
        >>> text.startswith("<!DOCTYPE html>") and "<h1>Run 3</h1>" in text
        True
    """
    return page(title, "".join(sections), subtitle=subtitle)


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` tag holding ``png`` inline (base64), so a page needs no side files.

    Example:
        >>> img_tag(b"PNG", "a grid")
        '<img src="data:image/png;base64,UE5H" alt="a grid">'
    """
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def kv_table(rows) -> str:
    """A two-column ``<table class="kv">`` of ``(key, value)`` pairs, both plain text.

    Example:
        >>> kv_table([("a.jpg", "not an image")])
        '<table class="kv"><tr><th>a.jpg</th><td>not an image</td></tr></table>'
    """
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{cells}</table>'
