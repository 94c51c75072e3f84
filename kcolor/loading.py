"""Deprecated: moved to :mod:`kcolor.presets.loader` (this alias goes in the next release)."""

from kcolor._deprecated import alias

alias(__name__, "kcolor.presets.loader")
