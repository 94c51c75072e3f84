"""Export a kcolor model as one ONNX graph that the fast path runs with no Keras and no torch.

The graph takes the encoded lightness ``l`` (``L / 50 - 1``, ``(N, H, W, 1)`` float32, H and
W any multiple of the preset's ``multiple``) and returns the encoded ``ab`` (``ab / 128``,
``(N, H, W, 2)``). For a colour-class model it includes the colour decoding (annealed mean,
its temperature and prior correction, and the upsampling to the input size), with
``temperature`` and ``prior_correction`` as scalar float32 inputs: the vividness knob maps
to those two numbers in plain Python (:func:`kcolor.inference.vividness.class_decoding`), so
one file serves every vividness. A regression model's graph takes ``l`` only; its vividness
is a gain on ab, applied by the caller.

Weights that float16 holds exactly (all of them for a preset saved as float16) are stored
as float16 and cast back when the session loads, so the file is about the size of the
preset's weights and its outputs are those of the float32 model.

:func:`write_preset_export` writes ``model.onnx`` into a preset folder and records its
SHA-256 (and the weights' it came from) in ``metadata.json`` under ``"export"``;
:func:`export_onnx` writes the file anywhere (``kcolor export``). Run by :mod:`kcolor.fast`.

Example:
    >>> from kcolor.presets import export
    >>> export.EXPORT_FILE
    'model.onnx'
    >>> model = kcolor.presets.build_model("beta-photos")              # doctest: +SKIP
    >>> export.export_onnx(model, "out/model.onnx")["inputs"]           # doctest: +SKIP
    {'l': ['n', 'h', 'w', 1]}
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from kcolor import color
from kcolor.presets import format as preset_format
from kcolor.presets.format import EXPORT_FILE, EXPORT_KEY

__all__ = [
    "EXPORT_FILE",
    "EXPORT_KEY",
    "OPSET",
    "after_save",
    "describe",
    "export_onnx",
    "write_description",
    "write_preset_export",
]

#: The ONNX opset written (onnxruntime 1.15 and later run it).
OPSET = 17
#: Float32 weights with fewer values than this stay float32 (a Cast costs more than it saves).
_MIN_FLOAT16 = 64


def _graph_module(model):
    """``(torch module, decoding)``: ``model`` plus its colour decoding, ``decoding`` being
    ``"classes"`` (inputs ``l, temperature, prior_correction``) or ``"ab"`` (input ``l``)."""
    import torch

    from kcolor.models.color_classes import class_head, get_class_weights

    head = class_head(model)

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            if head is not None:
                weights = np.asarray(get_class_weights(model), np.float32)
                centres = np.asarray(head.bins, np.float32) / np.float32(color.AB_SCALE)
                self.register_buffer("log_weights", torch.from_numpy(np.log(weights)))
                self.register_buffer("centres", torch.from_numpy(centres))
                self.stride = int(head.output_stride)

        def forward(self, lightness, temperature=None, prior_correction=None):
            y = self.model(lightness, training=False)
            if head is None:
                return y.float()
            # AnnealedMeanDecode, with T and alpha as inputs (kcolor.models.color_classes)
            logits = y.float() - prior_correction * self.log_weights
            ab = torch.softmax(logits / temperature, dim=-1) @ self.centres
            if self.stride > 1:
                ab = torch.nn.functional.interpolate(
                    ab.permute(0, 3, 1, 2),
                    scale_factor=float(self.stride),
                    mode="bilinear",
                    align_corners=False,
                ).permute(0, 2, 3, 1)
            return ab

    return Graph().eval(), ("ab" if head is None else "classes")


def _float16_weights(path: Path) -> int:
    """Store the float32 weights of the ONNX file at ``path`` that float16 holds exactly as
    float16, each cast back by a ``Cast`` node; returns how many were converted (0 when
    the ``onnx`` package is missing: the file stays float32)."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:  # pragma: no cover - torch's exporter needs onnx already
        return 0
    proto = onnx.load(os.fspath(path))
    graph = proto.graph
    casts, keep = [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            keep.append(init)
            continue
        value = numpy_helper.to_array(init)
        half = value.astype(np.float16)
        if value.size < _MIN_FLOAT16 or not np.array_equal(half.astype(np.float32), value):
            keep.append(init)
            continue
        keep.append(numpy_helper.from_array(half, init.name + "__f16"))
        casts.append(
            helper.make_node("Cast", [init.name + "__f16"], [init.name], to=onnx.TensorProto.FLOAT)
        )
    if not casts:
        return 0
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(proto, os.fspath(path))
    return len(casts)


def export_onnx(model, path: str | os.PathLike, *, float16: bool = True) -> dict:
    """Write ``model`` (a kcolor Keras model, colour-class or regression) and its colour
    decoding as the ONNX file ``path``.

    Args:
        model: a single-input kcolor model (encoded L in). Fusion models (two inputs)
            are not exported: they need their embedder.
        path: the ``.onnx`` file to write (replaced atomically).
        float16: store the weights that float16 holds exactly as float16 (lossless).

    Returns:
        ``{"format", "opset", "decoding", "inputs", "outputs", "sha256", "bytes"}``:
        ``inputs``/``outputs`` map each name to its shape (``"n"``, ``"h"``, ``"w"`` dynamic).

    Raises:
        ValueError: a model with two inputs, or one the exporter cannot trace.
    """
    import torch

    from kcolor.io import atomic_path

    if len(model.inputs) != 1:
        raise ValueError(
            f"model {model.name!r} takes {len(model.inputs)} inputs: a fusion model needs its "
            "embedder, which the export does not include (use the Keras path)"
        )
    shape = tuple(model.inputs[0].shape)
    fixed = shape[1] is not None and shape[2] is not None
    h, w = (int(shape[1]), int(shape[2])) if fixed else (64, 96)
    graph, decoding = _graph_module(model)
    names = ["l"] + (["temperature", "prior_correction"] if decoding == "classes" else [])
    args = (torch.zeros(1, h, w, 1),)
    if decoding == "classes":
        args += (torch.tensor(0.38), torch.tensor(0.5))
    axes = {0: "n"} if fixed else {0: "n", 1: "h", 2: "w"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".onnx") as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on Python ints: sizes are snapped
            torch.onnx.export(
                graph,
                args,
                os.fspath(tmp),
                dynamo=False,
                opset_version=OPSET,
                input_names=names,
                output_names=["ab"],
                dynamic_axes={"l": axes, "ab": axes},
            )
        if float16:
            _float16_weights(Path(tmp))
    dims = ["n", h, w] if fixed else ["n", "h", "w"]
    inputs = {"l": [*dims, 1]}
    if decoding == "classes":
        inputs.update(temperature=[], prior_correction=[])
    return {
        "format": "onnx",
        "opset": OPSET,
        "decoding": decoding,
        "inputs": inputs,
        "outputs": {"ab": [*dims, 2]},
        "sha256": preset_format.sha256sum(path),
        "bytes": path.stat().st_size,
    }


def describe(record: dict, config: dict) -> dict:
    """What a user deploying the file needs (``kcolor export`` writes it as JSON next to it):
    the graph's inputs and outputs, and the pre- and post-processing around it."""
    out = {
        "file": EXPORT_FILE,
        **{k: record[k] for k in ("format", "opset", "decoding", "inputs", "outputs", "sha256")},
        "input": "l = L / 50 - 1, with L the CIE Lab lightness (0-100) of the grey photo "
        "resized to the model size",
        "output": "ab = 128 * output: the CIE Lab a and b at the model size; upsample them "
        "to the photo's size and join them to its own L",
        "model_size": {
            "input_size": config.get("input_size"),
            "multiple": int(config.get("multiple", 8)),
            "rule": "height and width multiples of `multiple`; the preset runs at about "
            "input_size x input_size pixels with the photo's aspect ratio",
        },
    }
    if record["decoding"] == "classes":
        t = config.get("temperature")
        out["decoding_inputs"] = {
            "temperature": 0.38 if t is None else float(t),
            "prior_correction": float(config.get("prior_correction") or 0.0),
            "vividness": config.get("vividness"),
        }
    return out


def write_preset_export(model, folder: str | os.PathLike) -> dict:
    """Export ``model`` into preset ``folder`` as :data:`EXPORT_FILE` and record it (file,
    SHA-256, the weights' SHA-256 it was made from, inputs, outputs) in ``metadata.json``.

    ``save_to_preset`` calls it after writing the weights, so every preset folder ``kcolor
    train`` writes gets one. Raises ``ValueError`` for a model that cannot be exported
    (a fusion model); the folder is then left as it was.

    Returns:
        The record written.
    """
    folder = Path(folder)
    meta = preset_format.read_metadata(folder)
    record = export_onnx(model, folder / EXPORT_FILE)
    record = {"file": EXPORT_FILE, **record, "weights_sha256": meta.get("weights_sha256")}
    meta[EXPORT_KEY] = record
    preset_format.write_json(folder / preset_format.METADATA, meta)
    return record


def write_description(record: dict, config: dict, path: str | os.PathLike) -> Path:
    """Write :func:`describe`'s JSON to ``path``."""
    path = Path(path)
    path.write_text(json.dumps(describe(record, config), indent=2) + "\n")
    return path


def after_save(model, folder: str | os.PathLike) -> dict | None:
    """The hook ``save_to_preset`` calls: :func:`write_preset_export`, except for a fusion
    model (two inputs: left to the Keras path) and when the export fails (a warning; the
    preset stays usable with the Keras path). Returns the record, or ``None``."""
    folder = Path(folder)
    if len(getattr(model, "inputs", None) or []) != 1:
        (folder / EXPORT_FILE).unlink(missing_ok=True)  # no stale graph of an older model
        return None
    try:
        return write_preset_export(model, folder)
    except Exception as err:  # noqa: BLE001 - the weights are saved: never lose a run to this
        (folder / EXPORT_FILE).unlink(missing_ok=True)
        first = (str(err).strip().splitlines() or [""])[0][:200]
        if "onnx is not installed" in first or isinstance(err, ImportError):
            first = 'exporting needs the onnx package: pip install "kcolor[export]"'
        warnings.warn(
            f"{folder}: no {EXPORT_FILE} written ({first}); the preset works with the Keras "
            f"path, and `kcolor export {folder} -o {folder}` adds it later",
            stacklevel=2,
        )
        return None


def export_to_folder(
    spec, out_dir: str | os.PathLike, *, safe_mode: bool = True, overwrite: bool = False
) -> tuple[Path, Path]:
    """What ``kcolor export SPEC -o OUT_DIR`` does: ``model.onnx`` and ``model.json`` (its
    inputs, outputs and pre- and post-processing, :func:`describe`) in ``out_dir``.

    ``out_dir`` being the preset folder itself (re)writes the preset's own export and its
    ``metadata.json`` record (how to repair a corrupt or stale one).

    Args:
        spec: a preset name, preset or run folder, or ``.keras`` file.
        out_dir: the folder to write to (created).
        safe_mode: refuse a ``.keras`` file holding Python code.
        overwrite: replace an existing ``model.onnx`` (always, in the preset's own folder).

    Returns:
        ``(onnx file, json file)``.

    Raises:
        WeightsError: what ``spec`` names cannot be loaded, or is a fusion model.
        FileExistsError: ``out_dir`` holds a ``model.onnx`` already (without ``overwrite``).
    """
    from kcolor.errors import WeightsError
    from kcolor.presets.loader import load

    loaded = load(spec, safe_mode=safe_mode)
    if len(loaded.model.inputs) != 1:
        raise WeightsError(
            loaded.folder or loaded.name,
            "a fusion model (photo + embedding): its embedder is not part of the export, "
            "so it is not exported; colour with the Keras path",
        )
    config = {
        "input_size": loaded.input_size,
        "multiple": loaded.multiple,
        "temperature": loaded.temperature,
        "prior_correction": loaded.prior_correction,
        "vividness": None,
    }
    if loaded.folder is not None:
        config = preset_format.read_config(loaded.folder)
    out = Path(out_dir)
    own = loaded.folder is not None and out.exists() and out.resolve() == loaded.folder.resolve()
    if (out / EXPORT_FILE).exists() and not (overwrite or own):
        raise FileExistsError(f"{out / EXPORT_FILE} exists already (use --overwrite)")
    if own:
        record = write_preset_export(loaded.model, out)
    else:
        record = export_onnx(loaded.model, out / EXPORT_FILE)
    return out / EXPORT_FILE, write_description(record, config, out / "model.json")
