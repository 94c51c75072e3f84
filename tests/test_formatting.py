"""kcolor.formatting: one number format per metric, for every table kcolor prints."""

import math

import numpy as np
import pandas as pd
import pytest

from kcolor.formatting import format_table, format_value, value_format


@pytest.mark.parametrize(
    "name, value, text",
    [
        ("psnr", 22.6, "22.60"),
        ("PSNR", 19.04321, "19.04"),
        ("beta/psnr", float("inf"), "inf"),
        ("ssim", 0.81234, "0.812"),
        ("AuC", 0.9, "0.900"),
        ("semantic_agreement", 2 / 3, "0.667"),
        ("chroma_ratio", 0.5, "0.500"),
        ("digit_color_accuracy", 0.25, "0.250"),
        ("colorfulness", 31.4666, "31.47"),
        ("delta_colorfulness", 3.0, "3.00"),
        ("ΔCF", 12.345, "12.35"),
        ("loss", 0.00032571, "0.0003257"),
        ("val_loss", 0.012345678, "0.01235"),
        ("mae", 0.04, "0.04"),
        ("learning_rate", 1e-3, "0.001"),
        ("seconds", 12.345, "12.3"),
        ("images_per_s", 523.77, "523.8"),
        ("epoch", 3.0, "3"),
        ("samples", np.float32(20.0), "20"),
        ("n_images", np.int64(4), "4"),
        ("psnr", -0.001, "0.00"),
        ("note", "x", "x"),
    ],
)
def test_format_value(name, value, text):
    assert format_value(name, value) == text


def test_missing_values_and_formats():
    assert format_value("psnr", float("nan")) == "" and format_value("psnr", None) == ""
    assert format_value("psnr", math.nan, na_rep="-") == "-"
    assert format_value("loss", -math.inf) == "-inf"
    assert format_value("psnr", np.array(21.0)) == "21.00"
    assert value_format("psnr") == "{:.2f}" and value_format("anything") == "{:.4g}"


def test_format_table_keeps_labels_and_formats_by_column():
    frame = pd.DataFrame(
        {"psnr": [22.6, np.nan], "auc": [0.9, 0.85], "epoch": [1, 2]},
        index=pd.Index(["beta", "grey"], name="model"),
    )
    out = format_table(frame)
    assert list(out.index) == ["beta", "grey"] and out.index.name == "model"
    assert out.to_dict("list") == {
        "psnr": ["22.60", ""],
        "auc": ["0.900", "0.850"],
        "epoch": ["1", "2"],
    }


def test_plural_is_the_one_helper():
    """Issue 27.10: "1 epoch", never "1 epochs"; kcolor's modules share this one helper."""
    from kcolor.cli import train
    from kcolor.formatting import plural
    from kcolor.inference import results

    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs"
    assert plural(0, "step") == "0 steps" and plural(np.int64(1), "step") == "1 step"
    assert plural(1234, "photo") == "1,234 photos" and plural(3, "batch", "batches") == "3 batches"
    assert train._plural is plural and results._plural is plural


def test_formatting_imports_without_pandas():
    """The kcolor command imports it at start-up, before any heavy module."""
    import subprocess
    import sys

    code = "import sys, kcolor.formatting; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
