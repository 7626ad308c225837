"""Background work: the model thread and a small pool for file and metric jobs.

The GUI thread never waits on the model. :class:`Engine` (GUI side) owns a :class:`ModelWorker`
living in its own QThread. Requests go into one *pending slot per kind* (load, preview,
restore); a newer request replaces an older one that has not started, so a burst of slider
moves runs as at most two forward passes: the one in flight and the latest. Results come back
as signals carrying NumPy arrays; QPixmaps are made on the GUI thread only.

Cancelling a full-resolution restore sets a ``threading.Event`` that
:func:`drcnet.inference.restore_tiled` checks between tiles.
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from drcnet.compare import (
    PAPER_DELTA,
    PAPER_T,
    Analysis,
    ExportParams,
    Knobs,
    amplified_difference,
    analyse,
    without_ea_source,
)
from drcnet.errors import Cancelled, DRCNetError, NoWeightsError, WeightsError
from drcnet.inference import (
    AreaDone,
    Box,
    Progress,
    Restart,
    TileConfig,
    TilePeak,
    apply_strength,
    ea_area_pair,
    model_device,
    restore_tiled,
    run,
)
from drcnet.range_check import RangeReport, check_peaks

from .viewer import to_qimage


@dataclass(frozen=True)
class ModelInfo:
    """The model the worker holds now."""

    task: str
    device: str
    weights: Path
    sha256: str
    wf: int
    depth: int
    block_names: tuple[str, ...]
    noea_weights: Path | None = None
    noea_sha256: str | None = None
    precision: str = "fp32"
    variant: str = "default"
    t: float = PAPER_T  # the knobs stored in the weight file
    delta: float = PAPER_DELTA
    ea: bool = True
    train_crop: int | None = None  # the crop side it was trained on, if its file says


@dataclass(frozen=True)
class LoadJob:
    serial: int
    task: str
    device: str
    variant: str = "default"
    weights: Path | None = None  # a weight file instead of the shipped one


@dataclass(frozen=True)
class PreviewJob:
    serial: int
    rgb: np.ndarray
    knobs: Knobs
    probe: bool = False
    ea_compare: bool = False
    draft: bool = False  # a reduced-size preview made while a knob is dragged
    repair: bool = True  # out of range: run again with colours pulled to gray (analyse)


@dataclass(frozen=True)
class RestoreJob:
    serial: int
    rgb: np.ndarray
    knobs: Knobs
    tiles: TileConfig
    cancel: threading.Event = field(default_factory=threading.Event)
    strength: float = 1.0  # the share of the restoration its QImage shows (apply_strength)
    icc: bytes | None = None  # the photo's colour profile, for its QImage (to_qimage)
    # Where the user looks (restore_tiled's focus): called from the worker thread, so it
    # must only read a value the GUI thread sets, never touch a widget.
    focus: Callable[[], Box | None] | None = None


@dataclass(frozen=True)
class EAAreaJob:
    """Restore ``box`` with and without energy attention at full resolution, as the whole
    tiled restore would have it there (:func:`drcnet.inference.restore_area`), for the EA
    view zoomed in; ``gain`` amplifies their difference as the preview's pair is."""

    serial: int
    rgb: np.ndarray
    knobs: Knobs
    tiles: TileConfig
    box: Box
    gain: float
    icc: bytes | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class EAAreaResult:
    serial: int
    knobs: Knobs
    tiles: TileConfig
    box: Box
    with_ea: np.ndarray
    without_ea: np.ndarray
    source: str  # drcnet.compare.without_ea_source, as Analysis.without_ea_source
    images: tuple[QImage, QImage, QImage]  # with, without, |difference| × gain
    seconds: float
    precision: str = "fp32"


@dataclass(frozen=True)
class BatchJob:
    """Restore files to files (:func:`drcnet.batch.restore_files`) with these settings."""

    serial: int
    pairs: tuple[tuple[Path, Path], ...]
    knobs: Knobs
    tiles: TileConfig
    overwrite: bool = True
    cancel: threading.Event = field(default_factory=threading.Event)
    strength: float = 1.0  # the share of the restoration each output keeps
    keep_exif: bool = True  # whether outputs keep their input's EXIF (restore_files)
    # The model it was asked of (the dialog names it): a run waiting in the queue while
    # the window switched models refuses to start with another.
    model: ModelInfo | None = None


@dataclass(frozen=True)
class PreviewResult:
    serial: int
    analysis: Analysis
    device: str
    draft: bool = False
    repair: bool = True  # whether the preview was allowed to repair (PreviewJob.repair)
    source: np.ndarray | None = None  # the image it restored (PreviewJob.rgb)


@dataclass(frozen=True)
class RestoreResult:
    serial: int
    knobs: Knobs
    restored: np.ndarray
    seconds: float
    device: str
    tiles: TileConfig
    qimage: QImage | None = None  # made in the worker: a large image converts slowly
    precision: str = "fp32"
    range: RangeReport | None = None  # the range check over its tiles
    qimage_strength: float = 1.0  # the share of the restoration ``qimage`` shows


# The long kinds, which can be cancelled.
_JOBS = {"ea_area": EAAreaJob, "restore": RestoreJob, "batch": BatchJob}


def _digest(path: Path) -> str | None:
    """A weight file's SHA-256, or None if it cannot be read."""
    from drcnet.weights import sha256

    try:
        return sha256(path)
    except OSError:
        return None


def _unexpected(what: str, exc: BaseException) -> str:
    traceback.print_exception(exc)
    return f"{what} failed unexpectedly: {type(exc).__name__}: {exc}"


class ModelWorker(QObject):
    """Holds the model and runs jobs in its own thread, newest request per kind first.

    Call :meth:`submit` from any thread, then wake the worker with a queued call to
    :meth:`drain` (the :class:`Engine` does both).
    """

    loaded = Signal(object)  # ModelInfo
    # task, variant, weight file ("" for the shipped one), message, weights missing
    loadFailed = Signal(str, str, str, str, bool)
    previewReady = Signal(object)  # PreviewResult
    previewFailed = Signal(int, str)
    progress = Signal(int, int, int, str)  # serial, done, total, message
    restoreFinished = Signal(object)  # RestoreResult
    # serial, drcnet.inference.AreaDone (the focus area done), or None: the restore started
    # again (out of GPU memory) and no area handed over before holds
    areaReady = Signal(int, object)
    restoreCancelled = Signal(int, bool)  # serial, by the user (else superseded)
    restoreFailed = Signal(int, str)
    eaAreaReady = Signal(object)  # EAAreaResult
    eaAreaEnded = Signal(int, str)  # serial, why it gave no result ("" when cancelled)
    batchProgress = Signal(int, object)  # serial, drcnet.batch.BatchProgress
    batchFinished = Signal(int, object, bool)  # serial, list of FileResult, cancelled by the user
    batchFailed = Signal(int, str)
    # Emitted when the queue has drained and the running flags are cleared. Results are
    # emitted before the flags clear, so a "settled?" check made on a result alone can see a
    # restore still running; this signal gives the GUI a last, consistent look.
    idle = Signal()

    ORDER = ("load", "preview", "ea_area", "restore", "batch")

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._model: Any = None
        self._noea: Any = None
        self._info: ModelInfo | None = None
        self._running: RestoreJob | BatchJob | None = None
        self.forward_count = 0  # forward passes run; tests read it

    # --------------------------------------------------------------- any thread
    def submit(self, kind: str, job: Any) -> Any:
        """Put ``job`` in the ``kind`` slot; returns the job it replaced (never started)."""
        with self._lock:
            old = self._pending.get(kind)
            self._pending[kind] = job
        return old

    def take_pending(self, kind: str) -> Any:
        with self._lock:
            return self._pending.pop(kind, None)

    def has_pending(self, kind: str) -> bool:
        with self._lock:
            return kind in self._pending

    def cancel_running(self, kind: str | None = None) -> bool:
        """Set the cancel flag of the restore or batch in progress (only if it is of
        ``kind``, when given); True if there is one."""
        with self._lock:
            job = self._running
            if job is None or (kind is not None and not isinstance(job, _JOBS[kind])):
                return False
            job.cancel.set()
            return True

    def restoring(self) -> bool:
        with self._lock:
            return isinstance(self._running, RestoreJob)

    # --------------------------------------------------------------- worker thread
    @Slot()
    def drain(self) -> None:
        """Run pending jobs until none is left (several queued wakes find it empty)."""
        while True:
            with self._lock:
                kind = next((k for k in self.ORDER if k in self._pending), None)
                if kind is not None:
                    job = self._pending.pop(kind)
                    if kind in _JOBS:  # long work: cancel_running can stop it
                        self._running = job
            if kind is None:
                self.idle.emit()
                return
            try:
                getattr(self, f"_run_{kind}")(job)
            except Exception:  # a bug outside a job's own handling (an import, a finally):
                # said on stderr, and the queue goes on, so the window still hears "idle"
                traceback.print_exc()
            finally:
                if kind in _JOBS:  # long work: cancel_running can stop it
                    with self._lock:
                        self._running = None

    def _run_load(self, job: LoadJob) -> None:
        from drcnet.registry import load_model, noea_partner, weight_spec
        from drcnet.weights import sha256

        try:
            if (self._model is not None and self._info is not None
                    and (self._info.task, self._info.variant) == (job.task, job.variant)
                    and (job.weights is None or (self._info.weights == job.weights
                                                 and _digest(job.weights) == self._info.sha256))):
                # The same model (a user's file unchanged: training rewrites its snapshots in
                # place, and opening one again must read it again): move it.
                from drcnet.devices import resolve_device, resolve_precision

                dev = resolve_device(job.device)
                precision = resolve_precision("auto", dev)
                old_dev, old_precision = model_device(self._model), self._model.precision
                nets = [n for n in (self._model, self._noea) if n is not None]
                try:
                    for net in nets:
                        net.to(dev).set_runtime(precision=precision)
                except BaseException:  # leave both models where they were, then report
                    for net in nets:
                        net.to(old_dev).set_runtime(precision=old_precision)
                    raise
                info = ModelInfo(**{**self._info.__dict__, "device": str(dev),
                                    "precision": precision})
            else:
                path = job.weights or weight_spec(job.task, job.variant).path
                if self._info is None or (self._info.task, self._info.variant,
                                          self._info.weights) != (job.task, job.variant, path):
                    self._model = self._noea = self._info = None  # another model: free it first
                # else the same file read again (rewritten): the model in use stays until the
                # new one has loaded, as the window says when the reading fails
                for _ in range(3):  # the hash must name the bytes loaded, not a newer file
                    digest = _digest(path)
                    model = load_model(job.task, job.device,
                                       variant="default" if job.weights else job.variant,
                                       weights=job.weights, precision="auto")
                    if _digest(path) == digest:
                        break
                else:
                    raise WeightsError(f"{path.name} kept changing while it was read; open it "
                                       "again once it is written")
                noea = None
                partner = noea_partner(job.task, job.variant)
                if partner is not None and job.weights is None:
                    # the no-EA model was trained beside this one
                    try:
                        noea = load_model(job.task, model_device(model), variant=partner,
                                          precision=model.precision)
                    except (NoWeightsError, WeightsError):  # damaged: EA ± switches EA off
                        noea = None
                noea_path = weight_spec(job.task, partner).path if noea is not None else None
                self._model, self._noea = model, noea
                info = ModelInfo(
                    task=job.task, device=str(model_device(model)), weights=path,
                    sha256=digest, wf=model.config.wf, depth=model.config.depth,
                    block_names=tuple(model.block_names()), noea_weights=noea_path,
                    noea_sha256=sha256(noea_path) if noea_path is not None else None,
                    precision=model.precision, variant=job.variant, t=model.config.t,
                    delta=model.config.delta, ea=model.config.ea,
                    train_crop=model.train_crop)
            self._info = info
            self.loaded.emit(info)
        except NoWeightsError as exc:
            self._model = self._noea = self._info = None
            self.loadFailed.emit(job.task, job.variant, str(job.weights or ""), str(exc), True)
        except DRCNetError as exc:
            self.loadFailed.emit(job.task, job.variant, str(job.weights or ""), str(exc), False)
        except Exception as exc:  # a bug, but the worker thread must survive it
            self.loadFailed.emit(job.task, job.variant, str(job.weights or ""),
                                 _unexpected("loading the model", exc), False)

    def _run_preview(self, job: PreviewJob) -> None:
        if self._model is None:  # said, so the window does not wait for it for good
            self.previewFailed.emit(job.serial, "no model is loaded")
            return
        try:
            self.forward_count += 1
            result = analyse(self._model, job.rgb, job.knobs, probe=job.probe,
                             ea_compare=job.ea_compare, noea_model=self._noea,
                             repair=job.repair and not job.draft)  # drafts stay one pass
            self.previewReady.emit(PreviewResult(job.serial, result, str(self._info.device),
                                                 job.draft, job.repair, job.rgb))
        except DRCNetError as exc:
            self.previewFailed.emit(job.serial, str(exc))
        except Exception as exc:
            self.previewFailed.emit(job.serial, _unexpected("the preview", exc))

    def _run_restore(self, job: RestoreJob) -> None:
        if self._model is None:
            self.restoreFailed.emit(job.serial, "no model is loaded")
            return
        start = time.perf_counter()
        try:
            self._model.configure(t=job.knobs.t, delta=job.knobs.delta, ea=job.knobs.ea)

            def report(p: Progress) -> None:
                if isinstance(p, AreaDone):
                    self.areaReady.emit(job.serial, p)
                    return
                if isinstance(p, Restart):  # what it handed over no longer holds
                    self.areaReady.emit(job.serial, None)
                self.forward_count += 1
                self.progress.emit(job.serial, p.done, p.total, p.message)

            peaks: list[TilePeak] = []
            restored = run(restore_tiled(self._model, job.rgb, job.tiles,
                                         cancel=job.cancel.is_set, peaks=peaks,
                                         focus=job.focus), report)
            shown = apply_strength(job.rgb, restored, job.strength)
            self.restoreFinished.emit(RestoreResult(
                job.serial, job.knobs, restored, time.perf_counter() - start,
                str(self._info.device), job.tiles, to_qimage(shown, job.icc), self._model.precision,
                check_peaks(peaks, self._model.activation_limit), job.strength))
        except Cancelled:
            self.restoreCancelled.emit(job.serial, True)
        except DRCNetError as exc:
            self.restoreFailed.emit(job.serial, str(exc))
        except Exception as exc:
            self.restoreFailed.emit(job.serial, _unexpected("the restore", exc))

    def _run_ea_area(self, job: EAAreaJob) -> None:
        if self._model is None:
            self.eaAreaEnded.emit(job.serial, "no model is loaded")
            return
        start = time.perf_counter()
        knobs = job.knobs

        def count(_: Progress) -> None:
            self.forward_count += 1

        try:
            # Without EA: the trained no-EA model where there is one, else EA off, on
            # the tiles and with the repairs of the pass with EA, so the difference is EA's
            # alone (as the preview's pair shares one factor).
            with_ea, without = run(ea_area_pair(self._model, self._noea or self._model,
                                                job.rgb, job.box, job.tiles, knobs.t,
                                                knobs.delta, job.cancel.is_set), count)
            source = without_ea_source(self._model, self._noea)
            diff, _ = amplified_difference(with_ea, without, gain=job.gain)
            images = (to_qimage(with_ea, job.icc), to_qimage(without, job.icc),
                      to_qimage(diff))
            self.eaAreaReady.emit(EAAreaResult(job.serial, knobs, job.tiles, job.box, with_ea,
                                               without, source, images,
                                               time.perf_counter() - start,
                                               self._model.precision))
        except Cancelled:
            self.eaAreaEnded.emit(job.serial, "")
        except DRCNetError as exc:
            self.eaAreaEnded.emit(job.serial, str(exc))
        except Exception as exc:
            self.eaAreaEnded.emit(job.serial, _unexpected("the EA comparison", exc))
        finally:
            self._model.configure(ea=knobs.ea)

    def _run_batch(self, job: BatchJob) -> None:
        from drcnet.batch import CANCELLED, restore_files

        if self._model is None:
            self.batchFailed.emit(job.serial, "no model is loaded")
            return
        if job.model is not None and (self._info.weights, self._info.sha256) != (
                job.model.weights, job.model.sha256):
            self.batchFailed.emit(
                job.serial, f"the window switched to {self._info.weights.name} "
                f"({self._info.task}) before this run started, so nothing was restored; "
                "open Restore Files again to restore with it")
            return
        try:
            self._model.configure(t=job.knobs.t, delta=job.knobs.delta, ea=job.knobs.ea)

            def report(p: Any) -> None:
                if p.result is None:  # a tile was run (the end of a file is not one)
                    self.forward_count += 1
                self.batchProgress.emit(job.serial, p)

            info = self._info
            params = ExportParams.of_run(info.task, job.knobs, info.weights.name, info.sha256,
                                         info.device, job.tiles, info.precision)
            results = run(restore_files(self._model, job.pairs, job.tiles,
                                        cancel=job.cancel.is_set, overwrite=job.overwrite,
                                        params=params, strength=job.strength,
                                        keep_exif=job.keep_exif, tile_when_too_big=True),
                          report)
            self.batchFinished.emit(job.serial, results,
                                    any(r.status == CANCELLED for r in results))
        except DRCNetError as exc:
            self.batchFailed.emit(job.serial, str(exc))
        except Exception as exc:
            self.batchFailed.emit(job.serial, _unexpected("the batch", exc))


class Engine(QObject):
    """GUI-side handle on the model thread: submit jobs, cancel, shut down.

    Results come as the signals of :attr:`worker`; connect them to slots of objects on the
    GUI thread so they arrive queued there.
    """

    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._serial = 0
        self._thread = QThread()
        self._thread.setObjectName("drcnet-model")
        self.worker = ModelWorker()
        self.worker.moveToThread(self._thread)
        self._wake.connect(self.worker.drain)
        self._thread.start()

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def _submit(self, kind: str, job: Any) -> Any:
        old = self.worker.submit(kind, job)
        self._wake.emit()
        return old

    # ------------------------------------------------------------------ requests
    def load(self, task: str, device: str, variant: str = "default",
             weights: Path | None = None) -> int:
        """Load ``task``'s shipped ``variant``, or the file ``weights`` (then ``variant`` only
        names the choice), onto ``device``."""
        job = LoadJob(self._next(), task, device, variant, weights)
        self._submit("load", job)
        return job.serial

    def preview(self, rgb: np.ndarray, knobs: Knobs, probe: bool = False,
                ea_compare: bool = False, draft: bool = False, repair: bool = True) -> int:
        job = PreviewJob(self._next(), rgb, knobs, probe, ea_compare, draft, repair)
        self._submit("preview", job)
        return job.serial

    def restore(self, rgb: np.ndarray, knobs: Knobs, tiles: TileConfig,
                strength: float = 1.0, icc: bytes | None = None,
                focus: Callable[[], Box | None] | None = None) -> RestoreJob:
        """Restore ``rgb`` at full resolution; ``strength``: the share of the restoration
        the result's QImage shows (the array is the model's output either way); ``icc``: the
        photo's colour profile, which that QImage is shown through; ``focus``: the area to
        restore first (:attr:`RestoreJob.focus`; ``areaReady`` hands it over when done)."""
        job = RestoreJob(self._next(), rgb, knobs, tiles, strength=strength, icc=icc,
                         focus=focus)
        old = self._submit("restore", job)
        if old is not None:  # replaced before it started: tell listeners it will not run
            self.worker.restoreCancelled.emit(old.serial, False)
        return job

    def ea_area(self, rgb: np.ndarray, knobs: Knobs, tiles: TileConfig, box: Box,
                gain: float, icc: bytes | None = None) -> EAAreaJob:
        """Restore ``box`` with and without EA at full resolution (:class:`EAAreaJob`);
        replaces one not yet started, which ends without a word."""
        job = EAAreaJob(self._next(), rgb, knobs, tiles, box, gain, icc)
        self._submit("ea_area", job)
        return job

    def cancel_ea_area(self) -> None:
        """Cancel the pending and the running EA area (they end with ``eaAreaEnded``)."""
        pending = self.worker.take_pending("ea_area")
        if pending is not None:
            self.worker.eaAreaEnded.emit(pending.serial, "")
        self.worker.cancel_running("ea_area")

    def cancel_restore(self) -> bool:
        """Cancel the pending and the running restore; True if there was one."""
        found = False
        pending = self.worker.take_pending("restore")
        if pending is not None:
            pending.cancel.set()
            self.worker.restoreCancelled.emit(pending.serial, True)
            found = True
        return self.worker.cancel_running("restore") or found

    def restore_active(self) -> bool:
        return self.worker.restoring() or self.worker.has_pending("restore")

    def batch(self, pairs: list[tuple[Path, Path]], knobs: Knobs, tiles: TileConfig,
              overwrite: bool = True, strength: float = 1.0,
              keep_exif: bool = True, model: ModelInfo | None = None) -> BatchJob:
        """Restore ``pairs`` (input, output) with the loaded model, keeping ``strength`` of
        the restoration; results come as ``worker.batchProgress`` / ``batchFinished`` /
        ``batchFailed``. ``model``: the one the caller showed (a run that starts with
        another fails, saying so)."""
        job = BatchJob(self._next(), tuple(pairs), knobs, tiles, overwrite,
                       strength=strength, keep_exif=keep_exif, model=model)
        old = self._submit("batch", job)
        if old is not None:  # one batch at a time: the replaced one never started
            self.worker.batchFinished.emit(old.serial, [], True)
        return job

    def cancel_batch(self) -> bool:
        """Cancel the pending and the running batch; True if there was one."""
        pending = self.worker.take_pending("batch")
        if pending is not None:
            self.worker.batchFinished.emit(pending.serial, [], True)
        return self.worker.cancel_running("batch") or pending is not None

    def shutdown(self) -> None:
        """Cancel everything and stop the thread (waits for at most one tile)."""
        for kind in ModelWorker.ORDER:
            job = self.worker.take_pending(kind)
            if isinstance(job, (RestoreJob, BatchJob, EAAreaJob)):
                job.cancel.set()
        self.worker.cancel_running()
        self._thread.quit()
        self._thread.wait()


class _Task(QRunnable):
    """Runs one function in the pool and reports through the (long-lived) :class:`Jobs`."""

    def __init__(self, jobs: Jobs, key: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.jobs, self.key, self.fn = jobs, key, fn

    def run(self) -> None:
        try:
            result = self.fn()
        except DRCNetError as exc:
            self.jobs._failed.emit(self.key, str(exc))
        except Exception as exc:
            self.jobs._failed.emit(self.key, _unexpected("a background job", exc))
        else:
            self.jobs._finished.emit(self.key, result)


class Jobs(QObject):
    """Short background jobs (reading an image, computing metrics, writing an export) on a
    thread pool.

    ``run(fn, on_done, on_error)`` calls ``fn()`` off the GUI thread, then ``on_done(result)``
    or ``on_error(message)`` on the GUI thread. Results travel through this object's own
    signals and slots, so they are queued to the thread it lives in (the GUI thread) and no
    per-job QObject has to be kept alive. :meth:`wait` blocks until all jobs are done
    (shutdown only).

    Signals:
        started(): a job was queued; ended(): a job's callback has run (so a window can tell
        when its work is done, whichever callback started more).
    """

    _finished = Signal(int, object)
    _failed = Signal(int, str)
    started = Signal()
    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        self._key = 0
        self._closed = False
        self._finished.connect(self._on_finished)
        self._failed.connect(self._on_failed)

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Callable[[str], None]) -> None:
        if self._closed:  # the window shuts down: a callback delivered late starts nothing
            return
        self._key += 1
        self._callbacks[self._key] = (on_done, on_error)
        self.pool.start(_Task(self, self._key, fn))
        self.started.emit()

    @Slot(int, object)
    def _on_finished(self, key: int, result: Any) -> None:
        callbacks = self._callbacks.pop(key, None)
        if callbacks is not None:
            try:
                callbacks[0](result)
            finally:  # a callback that raised ended its job too: the window may be idle
                self.ended.emit()

    @Slot(int, str)
    def _on_failed(self, key: int, message: str) -> None:
        callbacks = self._callbacks.pop(key, None)
        if callbacks is not None:
            try:
                callbacks[1](message)
            finally:
                self.ended.emit()

    def pending(self) -> int:
        return len(self._callbacks)

    def wait(self) -> None:
        self.pool.waitForDone()

    def close(self) -> None:
        """Wait for the jobs running and start no more (the window shuts down). A callback
        delivered after the wait had started a job whose end reached this object while Qt
        deleted it ("Signal source has been deleted")."""
        self._closed = True
        self.pool.waitForDone()


class MainThreadGC(QObject):
    """Run Python's cyclic garbage collector on the GUI thread only.

    Left to itself, the collector runs in whichever thread happens to allocate, such as the
    model thread building a network; if it then frees a cycle that holds Qt objects, they are
    destroyed in the wrong thread and the process can crash. This turns automatic collection
    off and collects from a timer on the GUI thread instead, generation by generation with
    the usual thresholds (the pattern pyqtgraph uses).
    """

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    @Slot()
    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.threshold[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
