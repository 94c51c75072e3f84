"""Deprecated: moved to :mod:`kcolor.report.figures` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.report.figures")
