"""kcolor.distributed: sharding, start-up checks, and real 2-process runs (torchrun, gloo, CPU).

The multi-process tests launch this file as a script under
``python -m torch.distributed.run --nproc-per-node 2`` (``--worker``), or as plain processes
with a hand-made torchrun environment (``--hang`` / ``--raise``), on a free loopback port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kcolor  # noqa: F401  (torch backend before keras)

import keras  # noqa: E402  isort: skip

HERE = Path(__file__).resolve()
N_TRAIN, N_VAL, SIZE, SEED = 40, 11, 16, 3


# ---------------------------------------------------------------------------- shared set-up
def _images(n, seed):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, SIZE // 4, SIZE // 4, 3), dtype=np.uint8)
    return coarse.repeat(4, axis=1).repeat(4, axis=2)


def _model(weights_file=None):
    from kcolor import models

    keras.utils.set_random_seed(0)
    model = models.alpha((SIZE, SIZE, 1))
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    if weights_file is not None:
        data = np.load(weights_file)
        for i, v in enumerate(model.weights):
            v.assign(data[str(i)])
    return model


def _bn_model():
    keras.utils.set_random_seed(1)
    L = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Conv2D(4, 3, padding="same")(L)
    h = keras.layers.BatchNormalization()(h)
    out = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(h)
    model = keras.Model(L, out)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _datasets(batch_size):
    from kcolor.datasets import ArrayDataset

    train = ArrayDataset(
        _images(N_TRAIN, 0), size=SIZE, batch_size=batch_size, augment=True, seed=SEED
    )
    val = ArrayDataset(_images(N_VAL, 1), batch_size=batch_size)
    return train, val


def _save_weights(model, path):
    np.savez(path, **{str(i): keras.ops.convert_to_numpy(v) for i, v in enumerate(model.weights)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra):
    env = dict(os.environ)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    env.update(OMP_NUM_THREADS="1", KERAS_BACKEND="torch", PYTHONPATH=str(HERE.parents[1]), **extra)
    return env


def _torchrun(args, tmp_path, timeout=120, nproc=2):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        str(nproc),
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        "--monitor-interval",
        "0.2",
        str(HERE),
        *args,
    ]
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    return proc, time.monotonic() - start


# ---------------------------------------------------------------------------- worker (script)
def _worker(out: Path) -> None:
    """Everything the 2-rank test checks, in one torchrun launch (one import per rank)."""
    from kcolor import distributed as kd

    dist = kd.init_from_env(timeout=60)
    assert dist.world_size == 2 and dist.backend == "gloo", dist
    result = {"rank": dist.rank}

    # Start-up check: the same config passes, a different one fails on every rank.
    result["hash"] = kd.check_same_config(dist, {"model": "alpha", "batch": 4})
    try:
        kd.check_same_config(dist, {"model": "alpha", "batch": 4 + dist.rank})
        result["mismatch"] = None
    except kd.DistributedError as e:
        result["mismatch"] = str(e)

    # Equivalence: 2 ranks x batch 4 against 1 process x batch 8 (the test runs that one).
    model = _model(out / "init.npz")
    if dist.rank == 1:  # a different start on rank 1: the broadcast must undo it
        model.weights[0].assign(keras.ops.zeros_like(model.weights[0]))
    train, val = _datasets(batch_size=4)
    local_val_loss = None

    class LocalVal(keras.callbacks.Callback):  # this rank's own validation loss
        def on_test_end(self, logs=None):
            nonlocal local_val_loss
            local_val_loss = float(logs["loss"])

    train, val, callbacks = kd.wrap_training(dist, model, train, val, [LocalVal()])
    result["steps"] = len(train)
    result["val_samples"] = val.num_samples
    history = model.fit(train, validation_data=val, epochs=1, callbacks=callbacks, verbose=0)
    result["history"] = {k: [float(x) for x in v] for k, v in history.history.items()}
    result["local_val_loss"] = local_val_loss
    result["grad_steps"] = model._kcolor_gradient_all_reduce.steps
    _save_weights(model, out / f"rank{dist.rank}.npz")

    # Batch norm: moving statistics differ per rank during the epoch, averaged at its end.
    bn = _bn_model()
    data, _ = _datasets(batch_size=4)
    data, _, callbacks = kd.wrap_training(dist, bn, data, None, [])
    bn.fit(data, epochs=1, callbacks=callbacks, verbose=0)
    result["bn"] = [keras.ops.convert_to_numpy(v).tolist() for v in bn.non_trainable_variables]

    # A stop on one rank stops both at the same step (SyncStop).
    class StopOnRank1(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if dist.rank == 1 and batch == 1:
                self.model.stop_training = True

    steps = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)

    model2 = _model(out / "init.npz")
    data, _ = _datasets(batch_size=4)
    data, _, callbacks = kd.wrap_training(dist, model2, data, None, [StopOnRank1(), Count()])
    model2.fit(data, epochs=3, callbacks=callbacks, verbose=0)
    result["stop_steps"] = steps

    # Resuming: a restore on rank 0 alone (its BackupAndRestore) sets the epoch and the
    # weights there; BroadcastState starts every rank from them.
    class RestoreOnRank0(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if dist.rank == 0:
                self.model._initial_epoch = 1
                for v in self.model.weights:
                    v.assign(v + 0.5)

    epochs = []

    class Epochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(epoch)

    model3 = _model(out / "init.npz")
    data, _ = _datasets(batch_size=4)
    data, _, callbacks = kd.wrap_training(dist, model3, data, None, [RestoreOnRank0(), Epochs()])
    model3.fit(data, epochs=2, callbacks=callbacks, verbose=0)
    result["resumed_epochs"] = epochs
    result["resumed_weights"] = float(
        sum(keras.ops.convert_to_numpy(v).sum() for v in model3.weights)
    )
    result["clock"] = kd.synced_clock(dist)()
    (out / f"result{dist.rank}.json").write_text(json.dumps(result))

    # Last: rank 1 fails while rank 0 waits in a collective; torchrun must stop rank 0.
    import torch
    import torch.distributed as tdist

    if dist.rank == 1:
        (out / "raised_at").write_text(str(time.time()))
        raise kcolor.DataError("rank 1 found no photos (on purpose)")
    tdist.all_reduce(torch.ones(1))
    print("rank 0 finished", flush=True)


def _hang_worker() -> None:
    """Rank 1 hangs; rank 0 waits in a collective until the process-group timeout."""
    import torch
    import torch.distributed as tdist

    from kcolor import distributed as kd

    dist = kd.init_from_env()
    if dist.rank == 1:
        time.sleep(60)
    Path("waiting_since").write_text(str(time.time()))
    tdist.all_reduce(torch.ones(1))
    print("rank 0 finished", flush=True)


# ---------------------------------------------------------------------------- single-process tests
def test_single_process_is_plain(monkeypatch):
    from kcolor import distributed as kd

    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    dist = kd.init_from_env()
    assert dist == kd.Dist() and dist.is_main and not dist.is_distributed
    model = _model()
    train, val = _datasets(8)
    out = kd.wrap_training(dist, model, train, val, ["cb"])
    assert out[0] is train and out[1] is val and out[2] == ["cb"]
    assert kd.average_logs(dist, {"loss": 1.5}) == {"loss": 1.5}
    assert kd.check_same_config(dist, {"a": 1}) == kd.config_hash({"a": 1})
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert kd.init_from_env() == kd.Dist()


def test_bad_environments_have_clear_messages(monkeypatch):
    import torch

    from kcolor import distributed as kd

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "two")
    with pytest.raises(kd.DistributedError, match="RANK='two' is not an integer.*torchrun"):
        kd.init_from_env()
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(kd.DistributedError, match="0 <= RANK < WORLD_SIZE"):
        kd.init_from_env()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(kd.DistributedError, match="MASTER_ADDR and MASTER_PORT not"):
        kd.init_from_env()
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "1")
    if not torch.cuda.is_available():
        with pytest.raises(kd.DistributedError, match="'nccl' needs CUDA GPUs.*use backend 'gloo'"):
            kd.init_from_env(backend="nccl")
    with pytest.raises(kd.DistributedError, match="unknown or unavailable .* 'ncl'"):
        kd.init_from_env(backend="ncl")
    with pytest.raises(kd.DistributedError, match="timeout must be positive"):
        kd.init_from_env(backend="gloo", timeout=0)
    monkeypatch.setenv("KCOLOR_DIST_TIMEOUT", "soon")
    with pytest.raises(kd.DistributedError, match="KCOLOR_DIST_TIMEOUT='soon'"):
        kd.init_from_env(backend="gloo")


def test_config_mismatch_message_names_ranks_and_versions():

    from kcolor import distributed as kd
    from kcolor.distributed import checks

    base = {"rank": 0, "host": "a", "kcolor": "0.1.0", "keras": "3", "torch": "2", "hash": "1" * 64}
    checks._check_entries([base, {**base, "rank": 1}])  # the same: fine
    other = {**base, "rank": 1, "host": "b", "hash": "2" * 64}
    with pytest.raises(kd.DistributedError, match=r"different config .*rank 1 \(host b"):
        checks._check_entries([base, other])
    with pytest.raises(kd.DistributedError, match="different kcolor / Keras / torch versions"):
        checks._check_entries([base, {**other, "kcolor": "0.2.0"}])
    assert kd.config_hash({"a": 1, "b": [1, 2]}) == kd.config_hash({"b": [1, 2], "a": 1})
    assert kd.config_hash({"a": 1}) != kd.config_hash({"a": 2})


def test_data_mismatch_names_the_rank_that_differs(monkeypatch):
    from kcolor import distributed as kd
    from kcolor.distributed import checks

    train, val = _datasets(4)
    dist = kd.Dist(rank=0, world_size=2, backend="gloo")
    mine = {"train": checks._data_fingerprint(train), "val": checks._data_fingerprint(val)}
    assert mine["train"]["samples"] == N_TRAIN and mine["val"]["samples"] == N_VAL
    # the gather is looked up in kcolor.distributed.checks: patch it there
    monkeypatch.setattr(checks, "all_gather_object", lambda d, obj: [obj, obj])
    train2, val2 = kd.shard_data(dist, train, val)  # the same data on both ranks: sharded
    assert train2.num_samples == N_TRAIN // 8 * 4 and val2.num_samples == 6
    other = {**mine, "val": {**mine["val"], "samples": N_VAL - 1}}
    monkeypatch.setattr(checks, "all_gather_object", lambda d, obj: [obj, other])
    with pytest.raises(kd.DistributedError, match="ranks see different data: .* but rank 1"):
        kd.shard_data(dist, train, val)
    assert kd.shard_data(dist, train, val, check=False)[1].num_samples == 6


def test_shards_split_each_global_batch():
    """2 ranks x batch 4 see exactly what 1 process x batch 8 sees, step by step, every epoch."""
    from kcolor.distributed import ShardedDataset

    one, _ = _datasets(8)
    two = [_datasets(4)[0] for _ in range(2)]
    shards = [ShardedDataset(two[r], r, 2) for r in range(2)]
    assert [len(s) for s in shards] == [len(one)] * 2 == [5, 5]
    for _epoch in range(2):
        for step in range(len(one)):
            x, y = one[step]
            parts = [s[step] for s in shards]
            np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), x)
            np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)
        first = one.order.copy()
        for d in (one, *shards):
            d.on_epoch_end()
        assert not np.array_equal(first, one.order)  # reshuffled
    # Validation: every sample exactly once over the ranks.
    _, val = _datasets(4)
    vshards = [ShardedDataset(val, r, 2, training=False) for r in range(2)]
    assert [s.num_samples for s in vshards] == [6, 5]
    seen = sorted(p for s in vshards for i in range(len(s)) for p in s.positions(i))
    assert seen == list(range(N_VAL))


def test_shards_drop_or_pad_a_partial_global_batch_and_refuse_too_little_data():

    from kcolor.datasets import ArrayDataset
    from kcolor.distributed import ShardedDataset
    from kcolor.errors import DataError

    data = ArrayDataset(_images(10, 0), batch_size=2)
    with pytest.warns(UserWarning, match="the last 2 of each epoch's order are left out"):
        dropped = ShardedDataset(data, 0, 2)
    padded = [ShardedDataset(data, r, 2, drop_last=False) for r in range(2)]
    assert len(dropped) == 2 and [len(s) for s in padded] == [3, 3]
    assert padded[0].positions(2) == [8, 9] and padded[1].positions(2) == [0, 1]
    with pytest.raises(DataError, match=r"fewer than one global batch \(8 processes x batch 2"):
        ShardedDataset(data, 0, 8)
    with pytest.raises(DataError, match="fewer than the 11 processes sharing it"):
        ShardedDataset(Batches(10), 0, 11)


class Batches(keras.utils.PyDataset):
    """``n`` batches of 2 rows, batch ``i`` filled with ``i``."""

    def __init__(self, n=7):
        super().__init__()
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 1), i, "float32"), np.zeros((2, 1), "float32")


def test_a_validation_set_smaller_than_the_world_is_shared_unevenly():
    """1 held-out photo, 2 processes: rank 0 evaluates it; rank 1 runs the same loop on a
    copy that weighs nothing (issue 27: this used to raise "fewer than the 2 processes")."""
    from kcolor.datasets import ArrayDataset
    from kcolor.distributed import ShardedDataset
    from kcolor.errors import DataError
    from kcolor.losses import PackedLTargets

    one = ArrayDataset(_images(1, 1), batch_size=4)
    for data in (one, PackedLTargets(one), Batches(1)):
        shards = [ShardedDataset(data, r, 2, training=False) for r in range(2)]
        assert [len(s) for s in shards] == [1, 1]
        assert [s.positions(0) for s in shards] == [[0], [0]]
        assert [s.num_samples for s in shards] == (
            [None, 0] if isinstance(data, Batches) else [1, 0]
        )
        np.testing.assert_array_equal(shards[1][0][0], shards[0][0][0])  # the copy
    three = [
        ShardedDataset(ArrayDataset(_images(3, 1), batch_size=2), r, 5, training=False)
        for r in range(5)
    ]
    assert [s.num_samples for s in three] == [1, 1, 1, 0, 0]
    assert [s.positions(0) for s in three] == [[0], [1], [2], [0], [1]]
    with pytest.raises(DataError, match="holds no batches"):
        ShardedDataset(Batches(0), 0, 2, training=False)


def test_generic_pydataset_is_sharded_by_batches():
    from kcolor.distributed import ShardedDataset

    shards = [ShardedDataset(Batches(), r, 2, seed=1) for r in range(2)]
    assert [len(s) for s in shards] == [3, 3]
    got = [int(s[i][0][0, 0]) for i in range(3) for s in shards]
    assert len(set(got)) == 6 and set(got) <= set(range(7))
    val = [ShardedDataset(Batches(), r, 2, training=False) for r in range(2)]
    assert [int(v[i][0][0, 0]) for v in val for i in range(len(v))] == [0, 2, 4, 6, 1, 3, 5]


def test_wrapped_kcolor_datasets_count_their_samples():
    from kcolor.datasets import ArrayDataset
    from kcolor.distributed import ShardedDataset
    from kcolor.losses import PackedLTargets

    val = PackedLTargets(ArrayDataset(_images(N_VAL, 1), batch_size=4))  # batches of 4, 4, 3
    shards = [ShardedDataset(val, r, 2, training=False) for r in range(2)]
    assert [s.num_samples for s in shards] == [7, 4]


def test_gradient_sync_hooks_variables_unfrozen_later():
    from kcolor import distributed as kd

    model = _model()
    first = model.layers[1]
    first.trainable = False
    sync = kd.GradientAllReduce(kd.Dist(), model)
    frozen = len(first.weights)
    assert len(sync._params) == len(model.weights) - frozen
    first.trainable = True
    assert sync.refresh() == frozen and sync.refresh() == 0
    assert len(sync._params) == len(model.weights)


def test_per_rank_batch_size():

    from kcolor import distributed as kd

    assert kd.per_rank_batch_size(16, kd.Dist(world_size=4, rank=1)) == 4
    with pytest.raises(kd.DataError, match="does not split over 3 processes"):
        kd.per_rank_batch_size(16, kd.Dist(world_size=3))


# ---------------------------------------------------------------------------- 2-process tests
@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """One torchrun launch of 2 ranks (``--worker``), and the 1-process reference run."""
    tmp_path = tmp_path_factory.mktemp("two_ranks")
    keras.utils.set_random_seed(0)
    reference = _model()
    _save_weights(reference, tmp_path / "init.npz")
    init = [keras.ops.convert_to_numpy(v) for v in reference.weights]
    proc, seconds = _torchrun(["--worker", str(tmp_path)], tmp_path)
    ended = time.time()
    train, val = _datasets(8)
    history = reference.fit(train, validation_data=val, epochs=1, verbose=0).history
    expected = [keras.ops.convert_to_numpy(v) for v in reference.weights]
    results = []
    for r in range(2):
        path = tmp_path / f"result{r}.json"
        assert path.is_file(), proc.stdout[-3000:] + proc.stderr[-6000:]
        results.append(json.loads(path.read_text()))
    return {
        "proc": proc,
        "seconds": seconds,
        "ended": ended,
        "dir": tmp_path,
        "init": init,
        "expected": expected,
        "history": history,
        "results": results,
    }


def test_two_ranks_train_like_one_process_with_the_double_batch(two_ranks):
    """The equivalence test: weights within 1e-5 after 5 steps, logs averaged."""
    expected, results = two_ranks["expected"], two_ranks["results"]
    assert (
        max(np.abs(a - b).max() for a, b in zip(expected, two_ranks["init"], strict=True)) > 1e-2
    )  # trained
    worst = 0.0
    for r, res in enumerate(results):
        assert res["steps"] == 5 and res["grad_steps"] == 5
        got = np.load(two_ranks["dir"] / f"rank{r}.npz")
        for i, want in enumerate(expected):
            np.testing.assert_allclose(got[str(i)], want, rtol=0, atol=1e-5, err_msg=f"rank {r}")
            worst = max(worst, float(np.abs(got[str(i)] - want).max()))
        for key in ("loss", "val_loss"):  # averaged over the ranks = the whole data's value
            np.testing.assert_allclose(res["history"][key], two_ranks["history"][key], rtol=1e-5)
    assert [r["val_samples"] for r in results] == [6, 5]
    assert results[0]["local_val_loss"] != results[1]["local_val_loss"]  # the shards differ
    print(f"torchrun, 2 ranks: {two_ranks['seconds']:.1f} s; largest weight difference {worst:.2e}")


def test_two_ranks_check_config_sync_batch_norm_stop_and_resume_together(two_ranks):
    results = two_ranks["results"]
    assert results[0]["hash"] == results[1]["hash"]
    for res in results:
        assert "ranks disagree" in res["mismatch"] and "rank 1 (host" in res["mismatch"]
    for a, b in zip(results[0]["bn"], results[1]["bn"], strict=True):  # moving statistics averaged
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)
    # a stop on rank 1 after its batch 1 stops rank 0 there too
    assert results[0]["stop_steps"] == results[1]["stop_steps"] == [0, 1]
    # rank 0's restore (epoch 1, its weights) is every rank's start
    assert results[0]["resumed_epochs"] == results[1]["resumed_epochs"] == [1]
    assert results[0]["resumed_weights"] == pytest.approx(results[1]["resumed_weights"], abs=1e-4)
    assert results[0]["clock"] == results[1]["clock"]


def test_a_failing_rank_stops_the_others_under_torchrun(two_ranks):
    proc = two_ranks["proc"]
    assert proc.returncode != 0
    assert "rank 1 found no photos (on purpose)" in proc.stderr
    assert "rank 0 finished" not in proc.stdout
    raised = float((two_ranks["dir"] / "raised_at").read_text())
    assert two_ranks["ended"] - raised < 20  # torchrun stopped rank 0 soon after


def test_a_hanging_rank_times_out_the_others(tmp_path):
    """Without torchrun to kill them (another machine), the process-group timeout does."""
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE), "--hang"],
            cwd=tmp_path,
            env=_env(
                RANK=str(r),
                LOCAL_RANK=str(r),
                WORLD_SIZE="2",
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                KCOLOR_DIST_TIMEOUT="10",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    try:
        out, err = procs[0].communicate(timeout=90)
        ended = time.time()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert procs[0].returncode != 0 and "rank 0 finished" not in out, err[-3000:]
    waited = ended - float((tmp_path / "waiting_since").read_text())
    assert 9 < waited < 30, waited  # the 10 s timeout, not rank 1's 60 s sleep


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        _worker(Path(sys.argv[2]))
    elif sys.argv[1] == "--hang":
        _hang_worker()
