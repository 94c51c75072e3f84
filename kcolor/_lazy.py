"""Lazy public names for a package's ``__init__``: each submodule loads on first use."""

from __future__ import annotations

import importlib
import sys


def lazy_getattr(package: str, names: dict):
    """A module ``__getattr__`` for ``package`` that imports ``names[name]`` on first use.

    Args:
        package: the package's ``__name__``.
        names: ``{name: "module"}`` (the same name in that module),
            ``{name: ("module", "attribute")}``, or ``{name: ("module", None)}`` (the
            module itself, e.g. a submodule loaded on first use).

    Returns:
        The ``__getattr__`` function; each value is cached in the package once loaded.

    Example:
        >>> names = {"dumps": "json", "decoder": ("json.decoder", None)}
        >>> __getattr__ = lazy_getattr("json", names)
        >>> __getattr__("dumps")([1])
        '[1]'
        >>> __getattr__("decoder").__name__
        'json.decoder'
    """

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        spec = names[name]
        module, attr = spec if isinstance(spec, tuple) else (spec, name)
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
