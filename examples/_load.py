"""Lets one example build on another: example files start with digits, so they can't be imported by name."""

import importlib.util
import sys
from pathlib import Path


def load_example(filename: str):
    """Import ``examples/<filename>`` (e.g. ``"05_beta.py"``) as a module, once."""
    name = "kcolor_example_" + Path(filename).stem
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().with_name(filename)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
