"""The one-page HTML report of a training run folder: :func:`build_report`.

What it reads
-------------
A run folder (``kcolor train`` writes one; any script may) is laid out as
:class:`kcolor.presets.run_folder.RunFolder` describes (the one description of it): the
report reads ``history.csv``, ``previews/preview_*.png``, ``metrics.csv`` (or
``metrics.json``: a flat ``{"metric": value}`` object is one row), ``config.json``,
``train_config.json`` and ``metadata.json``, each optional, and writes ``report.html``,
``history.png`` and ``metrics.png`` beside them. Anything else in the folder (weights,
backups) is ignored. When ``history.csv`` is absent, :func:`build_report` uses any other
``*.csv`` that has an ``epoch`` column; previews are also looked for directly in the folder.

Example:
    >>> from kcolor.report import build_report
    >>> build_report("runs/demo")                     # doctest: +SKIP
    PosixPath('runs/demo/report.html')
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from kcolor.errors import DataError
from kcolor.formatting import format_value
from kcolor.io import atomic_write_bytes
from kcolor.presets.run_folder import RunFolder
from kcolor.report.figures import figure_to_png
from kcolor.report.history import _load_history, history_caption, plot_history
from kcolor.report.html import escape, html_page, img_tag, kv_table
from kcolor.report.tables import _metrics_frame, metrics_html, metrics_table

__all__ = ["build_report"]


def _find_history(run: RunFolder):
    if run.history.exists():
        return run.history
    for path in sorted(run.path.glob("*.csv")):
        if path.name == run.METRICS_CSV or path.name.endswith(".batches.csv"):
            continue
        try:
            if "epoch" in pd.read_csv(path, nrows=0).columns:
                return path
        except Exception:  # noqa: BLE001 - not a CSV we can read: not a history
            continue
    return None


def _read_metrics(run: RunFolder):
    csv, js = run.metrics_csv, run.metrics_json
    try:
        if csv.exists():
            frame = pd.read_csv(csv)
            first = frame.columns[0]
            if not pd.api.types.is_numeric_dtype(frame[first]):
                frame = frame.set_index(first)
            return frame, csv
        if js.exists():
            return _metrics_frame(json.loads(js.read_text())), js
    except (DataError, TypeError, ValueError, OSError) as exc:
        raise DataError(f"{csv if csv.exists() else js}: cannot read the metrics: {exc}") from exc
    return None, None


def _summary_cards(history: pd.DataFrame) -> str:
    cards = [("epochs", str(len(history)))]
    for col in ("loss", "val_loss"):
        if col in history.columns and history[col].notna().any():
            cards.append((f"last {col}", format_value(col, history[col].dropna().iloc[-1])))
            if col == "val_loss":
                k = history[col].idxmin()
                epoch = history["epoch"][k] if "epoch" in history.columns else k
                best = format_value(col, history[col][k])
                cards.append(("best val_loss", f"{best} (epoch {format_value('epoch', epoch)})"))
    if "seconds" in history.columns:
        cards.append(("training time", f"{format_value('seconds', history['seconds'].sum())} s"))
    if "images_per_s" in history.columns and history["images_per_s"].notna().any():
        cards.append(("images / s", format_value("images_per_s", history["images_per_s"].median())))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def build_report(run_dir, title=None, max_previews=3, log_scale=False) -> Path:
    """Write ``run_dir/report.html`` (one self-contained page) and its PNG figures.

    Reads what the run left in ``run_dir`` (laid out as
    :class:`~kcolor.presets.run_folder.RunFolder` says): the training history, the latest
    ``max_previews`` preview grids, the metrics, ``config.json``, ``train_config.json`` and
    ``metadata.json``; sections without data are left out.
    Writes ``history.png`` (and ``metrics.png``) next to the page; every image
    is embedded in the HTML as base64, so the page can be mailed on its own.

    Args:
        run_dir: the run folder.
        title: page title (default: the folder's name).
        max_previews: how many of the latest preview grids to show.
        log_scale: plot the history on a log scale.

    Returns:
        The path of ``report.html``.

    Raises:
        DataError: the folder is missing or holds nothing to report.
    """
    run = RunFolder(run_dir)
    run_dir = run.path
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run folder")
    title = title or run_dir.resolve().name
    sections = []

    history_path = _find_history(run)
    history = _load_history(history_path) if history_path is not None else None
    if history is not None and not history.empty:
        fig = plot_history(history, log_scale=log_scale, title=None)
        png = figure_to_png(fig)
        atomic_write_bytes(run.history_png, png)
        sections.append(
            "<h2>Training</h2>"
            + _summary_cards(history)
            + f"<figure>{img_tag(png, 'training history')}"
            + f"<figcaption>{escape(history_path.name)}: "
            + f"{escape(history_caption(history))}</figcaption></figure>"
        )

    previews = sorted(run.previews.glob("preview_*.png")) + sorted(run_dir.glob("preview_*.png"))
    previews = sorted(previews, key=lambda p: p.name)[-max_previews:] if max_previews else []
    if previews:
        figures = "".join(
            f"<figure>{img_tag(p.read_bytes(), p.stem)}"
            f"<figcaption>{escape(p.name)}</figcaption></figure>"
            for p in reversed(previews)
        )
        sections.append(f'<h2>Previews (latest first)</h2><div class="row">{figures}</div>')

    metrics, metrics_path = _read_metrics(run)
    if metrics is not None:
        fig = metrics_table(metrics)
        atomic_write_bytes(run.metrics_png, figure_to_png(fig))
        sections.append(
            f"<h2>Metrics</h2>{metrics_html(metrics)}"
            f'<p class="sub">From {escape(metrics_path.name)}; best value per column in bold.</p>'
        )

    for path, heading in (
        (run.config, "Configuration"),
        (run.train_config, "Training configuration"),
        (run.metadata, "Metadata"),
    ):
        section = _json_section(path, heading)
        if section:
            sections.append(section)

    if not sections:
        raise DataError(
            f"{run_dir}: nothing to report (no {run.HISTORY}, {run.PREVIEWS}/, "
            f"{run.METRICS_CSV}|json, {run.CONFIG}, {run.TRAIN_CONFIG} or {run.METADATA})"
        )
    page = html_page(title, sections, subtitle=["kcolor training report", str(run_dir)])
    atomic_write_bytes(run.report, page.encode("utf-8"))
    return run.report


def _json_section(path: Path, heading: str) -> str | None:
    """A ``<h2>`` and a key/value table of the JSON file ``path``, or ``None`` if absent."""
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        return f"<h2>{heading}</h2><pre>{escape(json.dumps(value, indent=2))}</pre>"
    rows = [(k, _config_value(v)) for k, v in value.items()]
    return f"<h2>{heading}</h2>{kv_table(rows)}"


def _config_value(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Sequence, Mapping)):
        return json.dumps(value)
    return str(value)
