"""Doctest collection for ``pytest`` (pyproject's ``--doctest-modules`` over ``kcolor/``).

Deprecated alias modules replace themselves with their new module on import, so pytest
cannot collect them (their doctests run under the new path); ``__main__`` modules run the
CLI when imported.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _aliases() -> list[str]:
    out = []
    for path in (HERE / "kcolor").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "from kcolor._deprecated import alias" in text or path.name == "__main__.py":
            out.append(str(path.relative_to(HERE)))
    return out


collect_ignore = [*_aliases(), "kcolor/data"]
