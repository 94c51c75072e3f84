"""Deprecated: moved to :mod:`kcolor.inference.batch` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.inference.batch")
