"""kcolor.callbacks with real (tiny) training runs."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _tiny_training import tiny_data, tiny_model
from PIL import Image

import kcolor
from kcolor import color
from kcolor.callbacks import ColorizationPreview, PandasLogger
from kcolor.errors import DataError
from kcolor.io import atomic_write_bytes

import keras  # noqa: E402  isort: skip  (after kcolor: torch backend)

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------- PandasLogger
def test_one_row_per_epoch_with_every_column(tmp_path):
    x, y = tiny_data(20)
    xv, yv = tiny_data(8, seed=1)
    model = tiny_model()
    csv = tmp_path / "sub" / "history.csv"
    logger = PandasLogger(csv, per_batch=True)
    model.fit(x, y, batch_size=8, epochs=3, validation_data=(xv, yv), verbose=0, callbacks=[logger])

    frame = logger.frame
    assert list(frame["epoch"]) == [0, 1, 2]
    for col in (
        "loss",
        "mae",
        "val_loss",
        "val_mae",
        "learning_rate",
        "seconds",
        "samples",
        "images_per_s",
    ):
        assert col in frame.columns, col
    assert frame.columns[0] == "epoch"
    # 8 + 8 + 4: the partial last batch is counted too
    assert list(frame["samples"]) == [20, 20, 20]
    assert (frame["seconds"] > 0).all() and (frame["images_per_s"] > 0).all()
    assert np.allclose(frame["learning_rate"], 1e-2)
    # the log values are Keras' own
    history = model.history.history
    assert np.allclose(frame["loss"], history["loss"]) and np.allclose(
        frame["val_mae"], history["val_mae"]
    )

    on_disk = pd.read_csv(csv)
    pd.testing.assert_frame_equal(on_disk, frame, check_dtype=False)
    assert not [p for p in csv.parent.iterdir() if p.name.endswith(".tmp")]

    batches = logger.batch_frame
    assert len(batches) == 9 and list(batches["batch"][:3]) == [0, 1, 2]
    assert (csv.parent / "history.batches.csv").exists()

    # .frame is a copy
    frame.loc[0, "loss"] = -1.0
    assert logger.frame.loc[0, "loss"] != -1.0
    # the count comes from Keras' own loss tracker: the train function is Keras' own
    assert not hasattr(model.train_function, "_kcolor_original")


class _UnevenBatches(keras.utils.PyDataset):
    """Batches of 5, 3 and 1 images (a PyDataset need not have one batch size)."""

    def __init__(self):
        super().__init__()
        self.x, self.y = tiny_data(9)
        self.edges = [0, 5, 8, 9]

    def __len__(self):
        return 3

    def __getitem__(self, i):
        a, b = self.edges[i], self.edges[i + 1]
        return self.x[a:b], self.y[a:b]


def test_samples_of_a_pydataset_with_uneven_batches_and_validation():
    model = tiny_model()
    seen = []

    class Spy(keras.callbacks.Callback):  # the train function is never replaced
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(self.model.train_function)

    logger = PandasLogger()
    xv, yv = tiny_data(7, seed=1)
    model.fit(
        _UnevenBatches(), epochs=2, validation_data=(xv, yv), verbose=0, callbacks=[logger, Spy()]
    )
    # 9 a epoch, not the 7 validation images the tracker counts after validation starts
    assert list(logger.frame["samples"]) == [9, 9]
    assert len({id(f) for f in seen}) == 1 and not hasattr(seen[0], "_kcolor_original")


def test_a_train_step_that_counts_nothing_falls_back_to_batch_size():
    class Quiet(keras.Model):  # a train_step that skips Keras' loss tracker
        def train_step(self, data):
            return {"loss": 0.0}

    inputs = keras.Input((4,))
    model = Quiet(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x, y = np.zeros((12, 4), "float32"), np.zeros((12, 1), "float32")
    counted, by_size = PandasLogger(), PandasLogger(batch_size=4)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[counted, by_size])
    assert math.isnan(counted.frame["samples"][0])
    assert list(by_size.frame["samples"]) == [12]


def test_learning_rate_schedule_and_batch_size_argument():
    x, y = tiny_data(16)
    model = tiny_model()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    logger = PandasLogger(batch_size=8, count_samples=False)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[logger])
    frame = logger.frame
    # two steps per epoch: the rate at the start of epoch k is 0.1 * 0.5 ** (2k / 2)
    assert np.allclose(frame["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-5)
    assert list(frame["samples"]) == [16, 16, 16]


def test_without_batch_size_images_per_s_is_nan():
    x, y = tiny_data(8)
    model = tiny_model()
    logger = PandasLogger(count_samples=False)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[logger])
    assert math.isnan(logger.frame["images_per_s"][0])


def test_reduce_lr_on_plateau_rate_is_logged():
    x, y = tiny_data(8)
    model = tiny_model(learning_rate=0.5)
    reduce = keras.callbacks.ReduceLROnPlateau("loss", factor=0.1, patience=0, min_delta=10.0)
    logger = PandasLogger()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[reduce, logger])
    # epoch 0 improves; epoch 1 does not, so the rate drops for epoch 2. Logged: the rate
    # in force during each epoch (ReduceLROnPlateau logs it before it cuts it)
    assert np.allclose(logger.frame["learning_rate"], [0.5, 0.5, 0.05], rtol=1e-5)
    assert "learning_rate" not in [c for c in logger.frame.columns if c.startswith("val_")]


class _Crash(keras.callbacks.Callback):
    """Raise once, at the end of the given epoch or after the first batch of it."""

    def __init__(self, epoch, where):
        super().__init__()
        self.epoch, self.where, self.fired = epoch, where, False

    def on_train_batch_end(self, batch, logs=None):
        if self.where == "batch" and self._epoch == self.epoch and not self.fired:
            self.fired = True
            raise RuntimeError("simulated crash")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.where == "epoch_end" and epoch == self.epoch and not self.fired:
            self.fired = True
            raise RuntimeError("simulated crash")


class _EpochsRun(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.parametrize("where", ["batch", "epoch_end"])
def test_backup_and_restore_resume_keeps_each_epoch_once(tmp_path, where):
    """Crash in epoch 2, resume with BackupAndRestore: rows 0..4, each once.

    "epoch_end" crashes after the logger wrote epoch 2 but before the backup of
    epoch 2 was made, so epoch 2 is trained again and its first row must go.
    """
    x, y = tiny_data(16)
    csv = tmp_path / "history.csv"
    backup = tmp_path / "backup"
    model = tiny_model()

    def callbacks(crash):
        # the order matters for "epoch_end": logger, crash, then backup
        cbs = [PandasLogger(csv), _EpochsRun()]
        if crash:
            cbs.append(_Crash(2, where))
        cbs.append(keras.callbacks.BackupAndRestore(str(backup)))
        return cbs

    first = callbacks(crash=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=first)
    rows_after_crash = list(pd.read_csv(csv)["epoch"])
    assert rows_after_crash == ([0, 1] if where == "batch" else [0, 1, 2])
    assert first[1].epochs == [0, 1, 2]

    # a new process would build a new model and logger: do the same
    model = tiny_model()
    second = callbacks(crash=False)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=second)
    assert second[1].epochs == [2, 3, 4]  # BackupAndRestore did resume
    frame = pd.read_csv(csv)
    assert list(frame["epoch"]) == [0, 1, 2, 3, 4]
    assert frame["loss"].notna().all() and list(frame["samples"]) == [16] * 5
    pd.testing.assert_frame_equal(frame, second[0].frame, check_dtype=False)


def test_same_logger_across_fits_and_fresh_start(tmp_path):
    x, y = tiny_data(8)
    model = tiny_model()
    logger = PandasLogger(tmp_path / "h.csv")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[logger])
    model.fit(x, y, batch_size=8, epochs=4, initial_epoch=2, verbose=0, callbacks=[logger])
    assert list(logger.frame["epoch"]) == [0, 1, 2, 3]
    # counting wrapper not stacked by a second fit
    assert not hasattr(model.train_function, "_kcolor_original")
    assert list(logger.frame["samples"]) == [8] * 4
    # a fresh fit from epoch 0 replaces the log rather than appending to it
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[logger])
    assert list(pd.read_csv(tmp_path / "h.csv")["epoch"]) == [0]


def test_unreadable_csv_is_named(tmp_path):
    bad = tmp_path / "history.csv"
    bad.write_text("loss\n1.0\n")
    x, y = tiny_data(4)
    model = tiny_model()
    with pytest.raises(DataError, match="history.csv"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[PandasLogger(bad)])


def test_atomic_write_keeps_the_usual_mode(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_bytes(path, b"one")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"one" and (path.stat().st_mode & 0o777) == (0o666 & ~umask)
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.slow
def test_sigkill_mid_epoch_keeps_completed_epochs(tmp_path):
    csv, progress = tmp_path / "history.csv", tmp_path / "progress.txt"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_tiny_training.py"), str(csv), str(progress), "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if progress.exists() and len(progress.read_text().split()) >= 2:
                break
            time.sleep(0.02)
        else:
            pytest.fail(
                f"the training script did not log 2 epochs: {proc.stderr.read().decode()[-2000:]}"
            )
        time.sleep(0.11)  # land inside an epoch (4 batches of >= 0.05 s each)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = [int(e) for e in progress.read_text().split()]
    frame = pd.read_csv(csv)  # parses: never half-written
    assert len(done) >= 2
    assert list(frame["epoch"]) == list(range(len(frame)))
    assert set(done) <= set(frame["epoch"])  # every completed epoch kept
    assert len(frame) <= len(done) + 1  # (the logger may be one callback ahead of progress)
    assert frame["loss"].notna().all()


# ---------------------------------------------------------------- ColorizationPreview
def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


def test_preview_files_every_n_epochs(tmp_path):
    x, y = tiny_data(12)
    model = tiny_model()
    preview = ColorizationPreview(x[:10], y[:10], tmp_path / "previews", every=2, max_images=3)
    model.fit(x, y, batch_size=6, epochs=3, verbose=0, callbacks=[preview])
    names = sorted(p.name for p in (tmp_path / "previews").iterdir())
    # after epoch 1 (every 2nd) and epoch 2 (the last one)
    assert names == ["preview_epoch_001.png", "preview_epoch_002.png"]
    pixels = _pixels(tmp_path / "previews" / "preview_epoch_002.png")
    assert pixels.var() > 0 and pixels.shape[0] > pixels.shape[1]  # 3 rows x 3 columns + titles

    fig = preview.render(epoch=2)
    assert len(fig.axes) == 9
    assert [ax.get_title() for ax in fig.axes[:3]] == ["grey input", "prediction", "truth"]
    grey = fig.axes[0].images[0].get_array()
    assert np.allclose(grey[..., 0], grey[..., 1], atol=1e-3) and np.allclose(
        grey[..., 1], grey[..., 2], atol=1e-3
    )
    truth = fig.axes[2].images[0].get_array()
    assert np.allclose(truth, color.merge_lab(x[:1], y[:1])[0], atol=1e-5)
    pred = model.predict(x[:1], verbose=0)
    assert np.allclose(
        fig.axes[1].images[0].get_array(), color.merge_lab(x[:1], pred)[0], atol=1e-4
    )


def test_preview_two_input_model(tmp_path):
    x, y = tiny_data(6)
    emb = np.random.default_rng(0).random((6, 10)).astype("float32")
    model = tiny_model(embedding_dim=10)
    preview = ColorizationPreview([x, emb], y, tmp_path, every=1, max_images=4)
    model.fit([x, emb], y, batch_size=6, epochs=2, verbose=0, callbacks=[preview])
    assert [p.name for p in preview.saved] == ["preview_epoch_000.png", "preview_epoch_001.png"]
    assert _pixels(preview.saved[-1]).var() > 0
    assert len(preview.render().axes) == 12


def test_preview_checks_shapes(tmp_path):
    x, y = tiny_data(2)
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\)"):
        ColorizationPreview(y, y, tmp_path)
    with pytest.raises(ValueError, match="sample_targets"):
        ColorizationPreview(x, y[:, :8], tmp_path)
    with pytest.raises(ValueError, match="every"):
        ColorizationPreview(x, y, tmp_path, every=0)


def test_lazy_import():
    assert kcolor.callbacks.PandasLogger is PandasLogger


def test_the_package_keeps_every_old_name():
    from kcolor import callbacks
    from kcolor.callbacks import checkpoint, pandas_logger, preview, time_budget

    old = ["BestModelCheckpoint", "ColorizationPreview", "PandasLogger", "TimeBudget"]
    old += ["BOOKKEEPING_COLUMNS", "EPOCH", "LEARNING_RATE", "SECONDS", "SAMPLES"]
    old += ["IMAGES_PER_S"]
    assert not [name for name in old if not hasattr(callbacks, name)]
    for module in (checkpoint, pandas_logger, preview, time_budget):
        for name in module.__all__:
            assert getattr(callbacks, name) is getattr(module, name), name
            assert name in callbacks.__all__


# ---------------------------------------------------------------- BestModelCheckpoint
class _Logs(keras.callbacks.Callback):
    """Puts the next of ``values`` into the epoch's logs as ``score`` (before the checkpoint)."""

    def __init__(self, values):
        super().__init__()
        self.values = list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


def test_best_model_checkpoint_saves_improvements_only_and_remembers(tmp_path):
    from kcolor.callbacks import BestModelCheckpoint

    x, y = tiny_data(8)
    model = tiny_model()
    path = tmp_path / "run" / "model.keras"
    ckpt = BestModelCheckpoint(path, monitor="score")
    scores = [3.0, float("nan"), 1.0, 2.0]
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[_Logs(scores), ckpt])
    assert (ckpt.best, ckpt.best_epoch) == (1.0, 2)  # the NaN and the worse epoch: not saved
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == [
        "model.best.json",
        "model.keras",
    ]
    assert BestModelCheckpoint.read_best(path) == {"epoch": 2, "monitor": "score", "value": 1.0}
    again = BestModelCheckpoint(path, monitor="score")  # a resumed run: the best is kept
    assert (again.best, again.best_epoch) == (1.0, 2)
    with pytest.raises(ValueError, match=".keras"):
        BestModelCheckpoint(tmp_path / "model.h5")


class _FakeClock:
    """A clock that a callback advances by ``step`` seconds per training batch."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        return self.now


class _Tick(keras.callbacks.Callback):
    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def on_train_batch_begin(self, batch, logs=None):
        self.clock.now += self.clock.step


def _budget_fit(seconds, epochs, step, schedule=None, n=16, batch=4):
    from kcolor.callbacks import TimeBudget

    x, y = tiny_data(n)
    model = tiny_model()
    if schedule is not None:
        model.compile(keras.optimizers.Adam(schedule), "mse")
    clock = _FakeClock(step)
    budget = TimeBudget(seconds, schedule, clock=clock)
    logger = PandasLogger(batch_size=batch, count_samples=False)
    history = model.fit(
        x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[_Tick(clock), budget, logger]
    )
    return budget, history, clock, logger


def test_time_budget_fits_epochs_and_decay_to_the_budget():
    # 4 steps per epoch at 1 "second" each: 10 seconds hold 2 whole epochs.
    schedule = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=400, alpha=0.0)
    budget, history, clock, logger = _budget_fit(10, epochs=100, step=1.0, schedule=schedule)
    assert budget.planned_epochs == 2
    assert len(history.history["loss"]) == 2
    assert budget.stopped_by_time
    assert clock.now <= 10
    assert schedule.decay_steps == 8  # 2 epochs x 4 steps: fully decayed at the end
    # The learning rate logged at the start of epoch 2 is half-way down the shortened cosine.
    assert logger.frame["learning_rate"].iloc[1] == pytest.approx(0.5e-2, rel=1e-3)


class _SlowDown(keras.callbacks.Callback):
    """Makes every step after epoch ``after`` take ``factor`` times longer."""

    def __init__(self, clock, after, factor):
        super().__init__()
        self.clock, self.after, self.factor = clock, after, factor

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.after:
            self.clock.step *= self.factor


def test_time_budget_shortens_the_decay_when_epochs_slow_down():
    from kcolor.callbacks import TimeBudget

    schedule = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=400, alpha=0.0)
    x, y = tiny_data(16)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(schedule), "mse")
    clock = _FakeClock(1.0)  # 4 s per epoch, then 8 s from epoch 3 on
    budget = TimeBudget(40, schedule, clock=clock)
    callbacks = [_SlowDown(clock, after=2, factor=2.0), _Tick(clock), budget]
    history = model.fit(x, y, batch_size=4, epochs=100, verbose=0, callbacks=callbacks)
    # planned 10 epochs after epoch 2 (8 s used, 4 s each); at 8 s per epoch only 6 fit
    assert len(history.history["loss"]) == budget.planned_epochs == 6
    assert schedule.decay_steps == 6 * 4  # the cosine still ends where training ends
    assert clock.now <= 40


def test_time_budget_never_runs_more_than_epochs():
    budget, history, _, _ = _budget_fit(1e6, epochs=3, step=1.0)
    assert len(history.history["loss"]) == 3
    assert budget.planned_epochs == 3
    assert not budget.stopped_by_time


def test_time_budget_stops_mid_epoch_when_one_epoch_is_too_long():
    budget, history, clock, _ = _budget_fit(2.5, epochs=5, step=1.0, n=40)  # 10 steps/epoch
    assert len(history.history["loss"]) == 1
    assert budget.stopped_by_time
    assert clock.now == 3  # stopped after the batch that crossed 2.5 s


def test_time_budget_can_keep_epochs_whole():
    from kcolor.callbacks import TimeBudget

    x, y = tiny_data(40)
    model = tiny_model()
    clock = _FakeClock(1.0)
    budget = TimeBudget(2.5, stop_mid_epoch=False, clock=clock)
    history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[_Tick(clock), budget])
    assert len(history.history["loss"]) == 1 and budget.epochs_done == 1
    assert clock.now == 10  # all 10 steps of the epoch ran
    assert budget.stopped_by_time


def test_time_budget_counts_a_resumed_fit_from_its_initial_epoch():
    from kcolor.callbacks import TimeBudget

    schedule = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=400, alpha=0.0)
    x, y = tiny_data(16)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(schedule), "mse")
    clock = _FakeClock(1.0)
    budget = TimeBudget(1e6, schedule, clock=clock)
    history = model.fit(
        x, y, batch_size=4, epochs=5, initial_epoch=3, verbose=0, callbacks=[_Tick(clock), budget]
    )
    assert len(history.history["loss"]) == 2 and budget.planned_epochs == 2
    assert not budget.stopped_by_time  # epochs 4 and 5 of 5: the run's natural end
    assert schedule.decay_steps == 5 * 4  # steps counted from epoch 0


def _scheduled_fit(seconds, epochs, n, stop_mid_epoch=True):
    from kcolor.callbacks import TimeBudget

    schedule = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=10_000, alpha=0.0)
    x, y = tiny_data(n)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(schedule), "mse")
    clock = _FakeClock(1.0)
    budget = TimeBudget(seconds, schedule, stop_mid_epoch=stop_mid_epoch, clock=clock)
    history = model.fit(
        x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[_Tick(clock), budget]
    )
    return schedule, budget, history, clock


def test_time_budget_plans_inside_a_long_first_epoch():
    # 40 steps per epoch at 1 s each, 20 s of budget: planned within epoch 1, after 4 steps,
    # and the decay covers the 20 steps that fit before the mid-epoch stop.
    schedule, budget, history, clock = _scheduled_fit(20, epochs=5, n=160)
    assert budget.planned_epochs == 1 and budget.stopped_by_time
    assert schedule.decay_steps == 20 and clock.now == 20
    # 10 steps per epoch, 15 s: one whole epoch fits; its decay is set before it ends.
    schedule, budget, history, clock = _scheduled_fit(15, epochs=5, n=40)
    assert len(history.history["loss"]) == 1 and schedule.decay_steps == 10


def test_time_budget_rejects_a_non_positive_budget():
    from kcolor.callbacks import TimeBudget

    with pytest.raises(ValueError, match="positive"):
        TimeBudget(0)
