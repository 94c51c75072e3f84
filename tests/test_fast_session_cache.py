"""The cache of onnxruntime's optimised graphs (kcolor.fast.session_cache): the second open
of an export comes from the cache, unoptimised again, and gives the same outputs; a damaged
cache entry is rebuilt; ``KCOLOR_ONNX_CACHE=0`` and small exports write nothing."""

import json

import numpy as np
import onnxruntime as ort
import pytest

from kcolor.fast import session_cache
from kcolor.fast.graph import open_session
from kcolor.presets import registry

DEFAULT = "unet-lite0-photos"  # 8.6 MB: over MIN_BYTES


@pytest.fixture
def opened(monkeypatch):
    """Records the graph optimisation level of every session onnxruntime opens."""
    levels = []
    original = ort.InferenceSession

    def spy(model, options=None, *args, **kwargs):
        levels.append(None if options is None else options.graph_optimization_level)
        return original(model, options, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    return levels


def _ab(session):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 96, 1)).astype(np.float32)
    feed = {"l": x}
    names = {i.name for i in session.get_inputs()}
    if "temperature" in names:
        feed["temperature"] = np.array(0.38, np.float32)
        feed["prior_correction"] = np.array(0.5, np.float32)
    return session.run(["ab"], feed)[0]


def test_the_second_open_comes_from_the_cache_with_the_same_outputs(tmp_path, monkeypatch, opened):
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", str(tmp_path))
    folder = registry.locate(DEFAULT)
    first = open_session(folder)
    entries = sorted(p.suffix for p in tmp_path.iterdir())
    assert entries == [".json", ".onnx"], entries  # the optimised graph and its record
    second = open_session(folder)
    off = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert opened[0] != off and opened[1] == off  # optimised once, then loaded as it is
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", "0")
    plain = open_session(folder)
    assert np.abs(_ab(second) - _ab(plain)).max() <= 1e-6
    assert np.abs(_ab(first) - _ab(plain)).max() <= 1e-6


def test_a_damaged_cache_entry_is_rebuilt(tmp_path, monkeypatch, opened):
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", str(tmp_path))
    folder = registry.locate(DEFAULT)
    open_session(folder)
    (cached,) = tmp_path.glob("*.onnx")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, somewhere in the weights
    cached.write_bytes(bytes(data))
    session = open_session(folder)
    off = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert opened[-1] != off  # not loaded from the damaged file: optimised again
    record = json.loads(cached.with_suffix(".json").read_text())
    import hashlib

    assert hashlib.sha256(cached.read_bytes()).hexdigest() == record["sha256"]  # rewritten
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", "0")
    assert np.abs(_ab(session) - _ab(open_session(folder))).max() <= 1e-6


def test_no_cache_when_turned_off_or_for_a_small_export(tmp_path, monkeypatch):
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", "0")
    assert session_cache.cache_folder() is None
    open_session(registry.locate(DEFAULT))
    monkeypatch.setenv("KCOLOR_ONNX_CACHE", str(tmp_path / "c"))
    open_session(registry.locate("alpha-woman"))  # 0.1 MB: under MIN_BYTES
    assert not (tmp_path / "c").exists()


def test_the_key_names_the_export_onnxruntime_and_providers():
    a = session_cache.cache_key("0" * 64, ["CPUExecutionProvider"])
    assert a == session_cache.cache_key("0" * 64, ["CPUExecutionProvider"])
    assert a != session_cache.cache_key("1" * 64, ["CPUExecutionProvider"])
    assert a != session_cache.cache_key("0" * 64, ["CUDAExecutionProvider"])
