"""Old import paths kept for one release: each alias module warns and becomes the new one."""

from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str, new: str):
    """Make module ``old`` the module ``new`` (same object, so patches reach both), with a
    ``DeprecationWarning`` that names the new path."""
    warnings.warn(
        f"{old} moved to {new}; the old path goes away in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
    module = importlib.import_module(new)
    sys.modules[old] = module
    return module
