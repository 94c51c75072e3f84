import os
import subprocess
import sys

import numpy as np
import pytest
import skimage.color
import skimage.data
import torch

from kcolor import color

PHOTOS = ["astronaut", "coffee", "chelsea"]


def _run(code, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def test_import_sets_torch_backend():
    r = _run("import kcolor, keras; print(keras.config.backend())")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "torch"


def test_other_backend_already_imported_is_a_clear_error():
    # A stand-in keras that reports another backend: the real ones (jax, tensorflow)
    # are not installed here, and kcolor only asks keras.config.backend().
    fake = (
        "import sys, types; k = types.ModuleType('keras'); "
        "k.config = types.SimpleNamespace(backend=lambda: 'tensorflow'); sys.modules['keras'] = k; "
    )
    r = _run(fake + "import kcolor")
    assert r.returncode != 0
    assert "BackendError" in r.stderr
    assert "'tensorflow' backend" in r.stderr
    assert "import kcolor before keras" in r.stderr


def test_conflicting_keras_backend_variable_is_a_clear_error():
    r = _run("import kcolor", {"KERAS_BACKEND": "jax"})
    assert r.returncode != 0
    assert "KERAS_BACKEND is set to 'jax'" in r.stderr


def test_device_helper():
    import kcolor

    dev = kcolor.device()
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", PHOTOS)
def test_rgb_to_lab_matches_skimage(name):
    img = getattr(skimage.data, name)()
    ref = skimage.color.rgb2lab(img)
    assert np.abs(color.rgb_to_lab(img.astype(np.float64) / 255) - ref).max() <= 1e-3
    assert np.abs(color.rgb_to_lab(img) - ref).max() <= 1e-3  # uint8 input, float32 maths
    t = color.rgb_to_lab(torch.from_numpy(img))
    assert isinstance(t, torch.Tensor)
    assert np.abs(t.double().numpy() - ref).max() <= 1e-3


@pytest.mark.parametrize("name", PHOTOS)
def test_lab_to_rgb_matches_skimage_and_round_trips(name):
    img = getattr(skimage.data, name)()
    lab = skimage.color.rgb2lab(img)
    ref = skimage.color.lab2rgb(lab)
    assert np.abs(color.lab_to_rgb(lab) - ref).max() <= 1e-3
    assert np.abs(color.lab_to_rgb(torch.from_numpy(lab)).numpy() - ref).max() <= 1e-3
    back = color.to_uint8(color.lab_to_rgb(color.rgb_to_lab(img)))
    assert np.abs(back.astype(int) - img.astype(int)).max() <= 1


def test_out_of_gamut_lab_matches_skimage():
    rng = np.random.default_rng(0)
    lab = np.stack(
        [rng.uniform(0, 100, 500), rng.uniform(-128, 127, 500), rng.uniform(-128, 127, 500)], -1
    )
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = skimage.color.lab2rgb(lab[None])[0]
    assert np.abs(color.lab_to_rgb(lab) - ref).max() <= 1e-3


def test_batched_shapes_and_dtypes():
    x = np.random.default_rng(1).random((2, 3, 5, 7, 3)).astype(np.float32)
    lab = color.rgb_to_lab(x)
    assert lab.shape == x.shape
    assert lab.dtype == np.float32
    with pytest.raises(ValueError, match="3 channels"):
        color.rgb_to_lab(np.zeros((4, 4, 4)))


def test_torch_is_differentiable_and_finite_everywhere():
    x = torch.rand(2, 6, 6, 3, dtype=torch.float64)
    x[0, 0, 0] = 0.0  # black: the branch points
    x[0, 0, 1] = 1.0
    x.requires_grad_(True)
    y = color.lab_to_rgb(color.rgb_to_lab(x))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    lab = torch.tensor([[50.0, 20.0, -30.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: color.lab_to_rgb(t, clip=False), (lab,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_on_cuda():
    img = torch.from_numpy(skimage.data.coffee()).cuda()
    lab = color.rgb_to_lab(img)
    assert lab.device.type == "cuda"
    ref = skimage.color.rgb2lab(skimage.data.coffee())
    assert np.abs(lab.double().cpu().numpy() - ref).max() <= 1e-3


def test_network_scaling_round_trip():
    img = skimage.data.astronaut()[:32, :32]
    x, y = color.split_lab(img.astype(np.float64) / 255)
    assert x.shape == (32, 32, 1) and y.shape == (32, 32, 2)
    assert -1.0 <= x.min() and x.max() <= 1.0
    assert np.abs(y).max() <= 1.0
    back = color.to_uint8(color.merge_lab(x, y))
    assert np.abs(back.astype(int) - img.astype(int)).max() <= 1
    assert color.encode_ab(128.0) == 1.0 and color.decode_l(-1.0) == 0.0


@pytest.mark.parametrize("name", PHOTOS)
def test_rgb_to_l_matches_full_conversion(name):
    img = getattr(skimage.data, name)()
    ref = skimage.color.rgb2lab(img)[..., :1]
    assert color.rgb_to_l(img).shape == img.shape[:2] + (1,)
    assert np.abs(color.rgb_to_l(img) - ref).max() <= 1e-3
    assert np.abs(color.rgb_to_l(img.astype(np.float64) / 255) - ref).max() <= 1e-3
    assert np.abs(color.rgb_to_l(torch.from_numpy(img)).double().numpy() - ref).max() <= 1e-3
