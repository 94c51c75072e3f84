"""Deprecated: moved to :mod:`kcolor.inference.colorizer` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.inference.colorizer")
