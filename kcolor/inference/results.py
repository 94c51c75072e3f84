"""What a file batch did: :class:`ColorizeResult`, filled in by
:func:`kcolor.inference.outputs.plan_outputs` (inputs refused, skipped or ignored) and by
:func:`kcolor.inference.batch.colorize_files` (outputs written, failures), with a
:meth:`~ColorizeResult.summary` for people.

Example:
    >>> from kcolor.inference.results import ColorizeResult
    >>> result = ColorizeResult(written=["out/a.png"], failed=[("b.jpg", "truncated file")])
    >>> result.ok
    False
    >>> print(result.summary())
    1 written, 1 failed
      FAILED b.jpg: truncated file
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kcolor.formatting import plural as _plural

__all__ = ["ColorizeResult"]


@dataclass
class ColorizeResult:
    """What :func:`colorize_files` did.

    Attributes:
        written: the output files written, in input order.
        failed: ``(input path, reason)`` for every input that produced no output.
        skipped: ``(path, reason)`` for folders with no images, folders named like images,
            earlier outputs found among the inputs and (with ``skip_color``) colour photos.
        ignored: files inside input folders that are not images (by their extension).
        pairs: ``(input path, output path)`` for every written file.
        renamed: ``(input path, output path, other input)`` for every output renamed
            (``photo-2.png``) because ``other input`` has the same output name.
        recolored: the colour photos among the written inputs (coloured anyway).
        interrupted: True when the run was stopped (Ctrl-C) before the end.
        not_done: how many planned inputs were not processed because of the interruption.
    """

    written: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    recolored: list[str] = field(default_factory=list)
    interrupted: bool = False
    not_done: int = 0

    @property
    def ok(self) -> bool:
        """True when no input failed and the run was not interrupted."""
        return not self.failed and not self.interrupted

    def summary(self, verbose: bool = False) -> str:
        """A few lines for a person: how many written, which failed or were skipped and why;
        the non-image files passed over are counted (and, with ``verbose``, listed)."""
        lines = [f"{len(self.written)} written, {len(self.failed)} failed"]
        if self.skipped:
            lines[0] += f", {len(self.skipped)} skipped"
        if self.ignored:
            files = _plural(len(self.ignored), "non-image file")
            lines[0] += f", {files} ignored" + ("" if verbose else " (--verbose lists them)")
        if self.interrupted:
            lines[0] += f"; INTERRUPTED with {self.not_done} not done"
        for path, reason in self.failed:
            lines.append(f"  FAILED {path}: {reason}")
        for path, reason in self.skipped:
            lines.append(f"  SKIPPED {path}: {reason}")
        if self.recolored:
            photos = _plural(len(self.recolored), "colour photo")
            lines.append(
                f"  RECOLOURED {photos}: their own colours were replaced "
                "(--skip-color / skip_color=True leaves colour photos alone)"
            )
        if verbose:
            for path in self.ignored:
                lines.append(f"  IGNORED {path}: not an image file (by its extension)")
        return "\n".join(lines)
