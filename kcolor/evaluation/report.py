"""What an evaluation writes and prints: the per-image and summary CSVs, the HTML page, text.

* :func:`write_outputs`: ``per_image.csv``, ``summary.csv`` and :func:`write_report`'s
  ``report.html`` (with ``summary.png``, ``best.png``, ``worst.png``) into a folder;
* :func:`write_report`: the self-contained HTML page (summary table, best and worst grids,
  unreadable files) in :func:`kcolor.report.html.page`'s shell;
* :class:`Examples`: the best and worst few photos by one metric, kept while the photos
  stream past;
* :func:`format_summary`: the summary as text for a terminal.

Example:
    >>> from kcolor.evaluation.report import Examples
    >>> examples = Examples(k=1, higher_is_better=True)
    >>> examples.offer([0.2, 0.9], ["a.png", "b.png"], {}, start=0)
    >>> [item[2] for item in examples.best()], [item[2] for item in examples.worst()]
    (['b.png'], ['a.png'])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kcolor.errors import DataError
from kcolor.evaluation.systems import GREY
from kcolor.formatting import format_table, format_value, plural
from kcolor.io import atomic_write_bytes
from kcolor.report.html import escape, html_page, img_tag, kv_table

__all__ = [
    "RANK_DIRECTION",
    "Examples",
    "format_summary",
    "grid_caption",
    "write_outputs",
    "write_report",
]

#: Summary columns whose best value the report marks, and which way is better.
_BETTER = {
    "semantic_agreement": "max",
    "delta_colorfulness": "min",
    "vivid_recall": "max",
    "frechet_distance": "min",
}
#: The per-image metrics that can pick the report's examples, and which way is better.
RANK_DIRECTION = {"auc": "max", "psnr": "max", "ssim": "max", "delta_colorfulness": "min"}
_RANK_LABEL = {"auc": "AuC", "psnr": "PSNR", "ssim": "SSIM", "delta_colorfulness": "ΔCF"}


@dataclass
class Examples:
    """The ``k`` best and ``k`` worst photos by a score, with their images.

    Each item is ``(score, order, file, {column: image})``; NaN scores are left out.
    """

    k: int
    higher_is_better: bool
    items: list = field(default_factory=list)  # (score, order, file, {column: image})

    def offer(self, scores, files, columns: dict[str, np.ndarray], start: int):
        """Consider a batch: its scores, files and images by column; ``start`` = its order."""
        if self.k <= 0:
            return
        for i, (s, f) in enumerate(zip(scores, files, strict=True)):
            if math.isnan(s):
                continue
            self.items.append((float(s), start + i, f, {c: im[i] for c, im in columns.items()}))
        self.items.sort(key=lambda t: (-t[0] if self.higher_is_better else t[0], t[1]))
        if len(self.items) > 2 * self.k:
            self.items = self.items[: self.k] + self.items[-self.k :]

    def _split(self) -> int:
        # With fewer than 2k photos, the better half are "best" and the rest "worst".
        return min(self.k, math.ceil(len(self.items) / 2))

    def best(self):
        """The best items, best first."""
        return self.items[: self._split()]

    def worst(self):
        """The worst items, worst first."""
        n = min(self.k, len(self.items) - self._split())
        return list(reversed(self.items[len(self.items) - n :])) if n > 0 else []


def write_outputs(out: Path, per_image, summary, examples, names, inputs) -> None:
    """Write ``per_image.csv``, ``summary.csv`` and ``report.html`` into ``out`` (created);
    their paths go into ``summary.attrs``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: the output folder is a file")
    out.mkdir(parents=True, exist_ok=True)
    per_csv, sum_csv = out / "per_image.csv", out / "summary.csv"
    atomic_write_bytes(per_csv, per_image.to_csv(index=False).encode("utf-8"))
    atomic_write_bytes(sum_csv, summary.to_csv().encode("utf-8"))
    summary.attrs.update(per_image_csv=os.fspath(per_csv), summary_csv=os.fspath(sum_csv))
    report = write_report(out / "report.html", summary, examples, names, inputs)
    summary.attrs["report"] = os.fspath(report)


def _grid_columns(items, names) -> dict[str, list]:
    """The example grid's columns, left to right: grey, each model, the original."""
    columns = {"grey input": [it[3]["grey"] for it in items]}
    for name in names:
        if name != GREY:
            columns[name] = [it[3][name] for it in items]
    columns["original"] = [it[3]["truth"] for it in items]
    return columns


def grid_caption(columns) -> str:
    """The caption of an example grid: its column titles, left to right, explained.

    Example:
        >>> grid_caption(["grey input", "beta", "original"])
        'Columns: grey input (what the models see) | beta | original.'
    """
    explain = {"grey input": "grey input (what the models see)", "original": "original"}
    return "Columns: " + " | ".join(explain.get(c, c) for c in columns) + "."


def _grid_png(items, columns, rank_by, title) -> bytes:
    from kcolor.report.figures import compare_grid, figure_to_png

    label = _RANK_LABEL[rank_by]
    rows = [f"{it[2].name}\n{label} {format_value(rank_by, it[0])}" for it in items]
    cell = 2.0 if len(columns) <= 4 else 1.6
    fig = compare_grid(columns, row_titles=rows, title=title, cell_size=cell)
    return figure_to_png(fig)


def write_report(path, summary: pd.DataFrame, examples, names, inputs) -> Path:
    """Write the self-contained HTML evaluation page (summary table, best and worst grids).

    Args:
        path: the ``.html`` file; ``summary.png``, ``best.png`` and ``worst.png`` go next to it.
        summary: :func:`kcolor.evaluation.evaluate`'s summary, with its ``attrs``.
        examples: the :class:`Examples` of the first system.
        names: the systems, in table order (the grey baseline last).
        inputs: the folders or files evaluated (named under the title).

    Returns:
        ``path``.
    """
    from kcolor.report.figures import figure_to_png
    from kcolor.report.tables import metrics_html, metrics_table

    path = Path(path)
    a = summary.attrs
    rank_by = a.get("rank_by", "auc")
    first = names[0]
    judged = f" Semantic agreement judged by {a['judge']}." if a.get("judge") else ""
    sections = [
        f"<h2>Summary</h2>{metrics_html(summary, better=_BETTER)}"
        f'<p class="sub">{plural(a["n_images"], "photo")}, each brought to '
        f"{a['size']}x{a['size']} ({a['geometry']}); "
        f"{plural(a['n_grey_dropped'], 'grey photo')} dropped, "
        f"{a['n_unreadable']} unreadable. Originals' mean colourfulness: "
        f"{format_value('colorfulness', a['colorfulness_truth'])}. The grey baseline is each "
        "photo's own L with a = b = 0, which is also what the models see. Best value per "
        "column in bold (colourfulness and chroma ratio are best near the originals': 1 for "
        f"the ratio).{escape(judged)}</p>"
    ]
    table_png = figure_to_png(metrics_table(summary, better=_BETTER))
    atomic_write_bytes(path.parent / "summary.png", table_png)
    label = _RANK_LABEL[rank_by]
    for kind, items in (("Best", examples.best()), ("Worst", examples.worst())):
        if not items:
            continue
        columns = _grid_columns(items, names)
        png = _grid_png(items, columns, rank_by, None)
        atomic_write_bytes(path.parent / f"{kind.lower()}.png", png)
        sections.append(
            f"<h2>{kind} {len(items)} by {label} of {escape(first)}</h2>"
            f"<figure>{img_tag(png, f'{kind.lower()} examples')}"
            f"<figcaption>{escape(grid_caption(columns))}</figcaption></figure>"
        )
    skipped = a.get("skipped") or []
    if skipped:
        sections.append(f"<h2>Unreadable files</h2>{kv_table(skipped)}")
    title = "kcolor evaluation: " + ", ".join(n for n in names if n != GREY)
    where = ", ".join(os.fspath(p) for p in inputs)
    page = html_page(title, sections, subtitle=[where, "per-image values in per_image.csv"])
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as text for a terminal: the table (numbers by :func:`kcolor.formatting.format_value`),
    then counts, the geometry and the judge."""
    shown = format_table(summary).rename(
        columns={
            "psnr": "PSNR",
            "ssim": "SSIM",
            "auc": "AuC",
            "colorfulness": "colourfulness",
            "delta_colorfulness": "ΔCF",
            "chroma_ratio": "chroma ratio",
            "vivid_recall": "vivid recall",
            "semantic_agreement": "semantic",
            "frechet_distance": "Fréchet",
        }
    )
    text = shown.to_string()
    a = summary.attrs
    if a:
        text += (
            f"\n{plural(a['n_images'], 'photo')} at {a['size']}x{a['size']} ({a['geometry']}); "
            f"{a['n_grey_dropped']} grey dropped, {a['n_unreadable']} unreadable; "
            f"originals' colourfulness {format_value('colorfulness', a['colorfulness_truth'])}"
        )
        if a.get("judge"):
            text += f"; semantic agreement judged by {a['judge']}"
        if a.get("frechet_n"):
            text += (
                f"; Fréchet distance on {a['frechet_features']}, n = {a['frechet_n']} "
                "(lower is better; compare at the same n only)"
            )
    return text
