"""Deprecated: moved to :mod:`kcolor.presets.run_folder` (this alias goes in the next release).

``kcolor.training.RunFolder`` stays the public name.
"""

from kcolor._deprecated import alias

alias(__name__, "kcolor.presets.run_folder")
