"""Deprecated: moved to :mod:`kcolor.presets.weights` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.presets.weights")
