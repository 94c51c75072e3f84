"""Deprecated: moved to :mod:`kcolor.evaluation.judges` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.evaluation.judges")
