"""Shared test fixtures.

Tests that need ``../shared/data`` use the ``shared_data`` fixture: it skips
with a reason when the folder is absent, and fails instead when
``KCOLOR_REQUIRE_SHARED=1`` (as ``.ci/run`` sets).
"""

import os
from pathlib import Path

import pytest

import kcolor  # noqa: F401  (sets the torch backend before keras loads)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KCOLOR_SHARED", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip (fail under KCOLOR_REQUIRE_SHARED=1) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        msg = f"needs {path} (the project's shared data folder), which is absent"
        if os.environ.get("KCOLOR_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " and KCOLOR_REQUIRE_SHARED=1", pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture(autouse=True)
def _seeded():
    # Every test starts from the same seeds. (keras.backend.clear_session() per test cost
    # ~0.5 s each here, for no gain on the torch backend.)
    import keras

    keras.utils.set_random_seed(0)
