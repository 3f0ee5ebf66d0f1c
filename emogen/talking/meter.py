"""Measuring a talking-head video while it is made: every frame goes past the real landmarker and a scorer.

``FrameMeter`` holds the models and the running measurements. ``BackgroundMeter`` runs it in a worker
process, so that measuring overlaps with synthesis, rendering and encoding instead of adding to them:

* Start-up. The measuring models need mediapipe, torch and diffusers, about 5 CPU-seconds of imports
  alone. In a worker process they load on the other core while ``talk`` synthesises the speech; on a
  thread they could not (imports take the interpreter's import locks; two threads importing torch and
  diffusers modules in different orders deadlocked, and a module half-imported on one thread is seen
  half-made on the other, so the thread design imported everything on the caller's thread first).
* Per frame. The landmarker (~10 ms of CPU a frame at 256 px) is most of the cost. The worker runs
  ``DETECT_THREADS`` landmarkers (one MediaPipe instance per thread, IMAGE mode: every frame is measured
  on its own, as before) in parallel; MediaPipe's detect releases the GIL (measured: a Python loop on
  another thread keeps ~80% of its speed), so two threads use two cores. The scorer reads batches of
  SCORE_BATCH frames on the worker's main thread meanwhile.
* The worker stays alive after a call (models loaded) and serves the next ``talk`` of this process, so
  a UI or batch session pays the start-up once; one worker per concurrent call, closed at exit.

Frames travel by pipe (pickled arrays, ~0.2 MB each at 256 px). The caller buffers up to BUFFER_BYTES
of them and the worker reads at most QUEUE_FRAMES ahead of what it has measured, so a slow worker
slows the renderer down instead of filling memory. A worker that fails hands its error back in ``finish``.
"""
from __future__ import annotations

import atexit
import importlib.util
import math
import os
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from emogen.emotion import EmotionArc
from emogen.errors import EmotionError

IDENTITY_SAMPLES = 8  # frames compared with the neutral portrait for identity preservation
# Frames per second of video the expression scorer reads: an expression changes over hundreds of
# milliseconds, so every frame would add cost without information. FER2013 costs more per frame.
AVATAR_SCORES_PER_SECOND = 12.5
PHOTO_SCORES_PER_SECOND = 5.0
SCORE_BATCH = 32
QUEUE_FRAMES = 64  # frames the worker holds unmeasured at most (bounds its memory if measuring falls behind)


def identity_frames(n_frames: int) -> set[int]:
    """The frames compared with the neutral portrait: IDENTITY_SAMPLES spread over the clip."""
    return set(np.linspace(0, n_frames - 1, min(IDENTITY_SAMPLES, n_frames)).round().astype(int).tolist())


class _Detectors:
    """``threads`` landmarkers, each on its own thread with its own MediaPipe instance; ``submit`` returns
    a Future of the faces in one image. With ``threads`` = 0 detection runs on the caller's thread."""

    def __init__(self, threads: int) -> None:
        # Imported here, on one thread, before the detector threads build their instances from them.
        import mediapipe.tasks.python.vision  # noqa: F401

        from emogen.face.landmarks import FaceLandmarker

        self._inline = FaceLandmarker(max_faces=1) if threads == 0 else None
        self._inputs: list[queue.Queue] = [queue.Queue() for _ in range(threads)]
        self._ready: list[Future] = [Future() for _ in range(threads)]
        self._threads = [threading.Thread(target=self._serve, args=(q, ready), daemon=True,
                                          name=f"emogen-landmarks-{i}")
                         for i, (q, ready) in enumerate(zip(self._inputs, self._ready))]
        for thread in self._threads:
            thread.start()
        for ready in self._ready:
            ready.result()  # raises what a landmarker failed with (e.g. a missing model file)
        self._next = 0

    @staticmethod
    def _serve(inputs: queue.Queue, ready: Future) -> None:
        from emogen.face.landmarks import FaceLandmarker

        try:
            landmarker = FaceLandmarker(max_faces=1)
        except BaseException as err:
            ready.set_exception(err)
            return
        ready.set_result(None)
        try:
            while (item := inputs.get()) is not None:
                image, future = item
                try:
                    future.set_result(landmarker.detect(image))
                except BaseException as err:
                    future.set_exception(err)
        finally:
            landmarker.close()

    def submit(self, image: np.ndarray) -> Future:
        future: Future = Future()
        if self._inline is not None:
            future.set_result(self._inline.detect(image))
            return future
        self._inputs[self._next].put((image, future))  # round robin: the threads take turns frame by frame
        self._next = (self._next + 1) % len(self._inputs)
        return future

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
        for inputs in self._inputs:
            inputs.put(None)
        for thread in self._threads:
            thread.join()


class FrameMeter:
    """Mouth opening in every frame (real landmarker), the emotion scorer on AVATAR_SCORES_PER_SECOND or
    PHOTO_SCORES_PER_SECOND frames per second, identity on IDENTITY_SAMPLES frames.

    ``detect_threads`` landmarkers work in parallel (0: on the caller's thread): ``submit`` hands a frame
    to them, ``book`` takes its result, in frame order; every measurement is what one landmarker gives
    for that frame alone."""

    def __init__(self, is_avatar: bool, detect_threads: int = 0) -> None:
        self.is_avatar = is_avatar
        self.detectors = _Detectors(detect_threads)
        self._scorers: dict[bool, object] = {}
        self.scorer = self._scorer(is_avatar)
        self.busy_s = 0.0

    def _scorer(self, is_avatar: bool):
        if is_avatar not in self._scorers:
            if is_avatar:
                from emogen.score.emofaces import EmoFacesScorer

                self._scorers[is_avatar] = EmoFacesScorer()
            else:
                from emogen.face.landmarks import FaceLandmarker
                from emogen.score.photo import FerScorer

                # Its own landmarker: the detector threads' instances are used by those threads only.
                self._scorers[is_avatar] = FerScorer(landmarker=FaceLandmarker(max_faces=1))
        return self._scorers[is_avatar]

    def begin(self, arc: EmotionArc, fps: float, n_frames: int, is_avatar: bool | None = None) -> None:
        if is_avatar is not None:
            self.is_avatar = is_avatar
            self.scorer = self._scorer(is_avatar)
        per_second = AVATAR_SCORES_PER_SECOND if self.is_avatar else PHOTO_SCORES_PER_SECOND
        self.score_every = max(1, int(round(fps / per_second)))
        self.targets = [e.to_set(self.scorer.category_set).top for e in arc.sample(fps, frames=n_frames)]
        self.openings = np.full(n_frames, np.nan)
        self.estimates: list = []
        self.scored_targets: list[str] = []
        self.scored_frames: list[int] = []
        self._pending: list[tuple[int, np.ndarray]] = []
        self.shape_distances: list[float] = []
        self.ssims: list[float] = []
        self.busy_s = 0.0

    def submit(self, frame: np.ndarray, reference: np.ndarray | None = None) -> tuple[Future, Future | None]:
        """Start the landmarks of a frame (and of its neutral reference); ``book`` takes them."""
        return self.detectors.submit(frame), None if reference is None else self.detectors.submit(reference)

    def see(self, index: int, frame: np.ndarray, reference: np.ndarray | None = None) -> None:
        """Measure one frame; ``reference`` (on ``identity_frames``) is the neutral portrait at its pose."""
        self.book(index, frame, reference, *self.submit(frame, reference))

    def book(self, index: int, frame: np.ndarray, reference: np.ndarray | None, faces_future: Future,
             neutral_future: Future | None) -> None:
        """Record one frame's measurements (waits for its landmarks)."""
        from emogen.talking.lipsync import face_ssim, mouth_opening, shape_distance

        clock = time.perf_counter()
        faces = faces_future.result()
        neutral_faces = neutral_future.result() if neutral_future is not None else None
        if faces:
            self.openings[index] = mouth_opening(faces[0].landmarks)
        if index % self.score_every == 0:
            if self.is_avatar:
                self._pending.append((index, frame))
                if len(self._pending) >= SCORE_BATCH:
                    self._score_pending()
            elif faces:
                self._add_photo_estimate(index, self.scorer.face_probs(frame, faces[0]))
        if reference is not None and faces and neutral_faces:
            self.shape_distances.append(shape_distance(faces[0].landmarks, neutral_faces[0].landmarks))
            self.ssims.append(face_ssim(frame, reference, neutral_faces[0].bbox))
        self.busy_s += time.perf_counter() - clock

    def _score_pending(self) -> None:
        if self._pending:
            self.estimates += self.scorer.score_batch([frame for _, frame in self._pending])
            self.scored_targets += [self.targets[i] for i, _ in self._pending]
            self.scored_frames += [i for i, _ in self._pending]
            self._pending = []

    def _add_photo_estimate(self, index: int, probs: dict) -> None:
        from emogen.score.estimate import EmotionEstimate, expected_va

        valence, arousal = expected_va(probs)
        self.estimates.append(EmotionEstimate(probs, valence, arousal, max(probs.values()), self.scorer.name))
        self.scored_targets.append(self.targets[index])
        self.scored_frames.append(index)

    def report(self, envelope: np.ndarray) -> dict:
        from emogen.talking.lipsync import expression_accuracy, lip_sync

        clock = time.perf_counter()
        self._score_pending()
        self.busy_s += time.perf_counter() - clock
        scores: dict = {"landmarker": "MediaPipe FaceLandmarker (face_landmarker.task)",
                        "expression_scorer": self.scorer.name}
        try:
            scores["lip_sync"] = lip_sync(self.openings, envelope).to_dict()
        except EmotionError as err:  # e.g. no face found in the frames: keep the video, say why
            scores["lip_sync"] = {"not_measured": str(err)}
        if self.estimates:
            scores["expression"] = {**expression_accuracy(self.estimates, self.scored_targets),
                                    "scored_frames": self.scored_frames}
        else:
            scores["expression"] = {"not_measured": "no frame could be scored (no face found)"}
        scores["identity"] = {
            "shape_distance_interocular": _mean(self.shape_distances),
            "face_ssim": _mean(self.ssims),
            "frames_compared": len(self.shape_distances),
            "reference": "the same portrait rendered with a neutral face at the same head pose",
        }
        scores["mouth_opening"] = [None if not math.isfinite(v) else round(float(v), 5) for v in self.openings]
        scores["audio_envelope"] = [round(float(v), 6) for v in envelope]
        return scores

    def close(self) -> None:
        self.detectors.close()
        for scorer in self._scorers.values():
            landmarker = getattr(scorer, "landmarker", None)
            if landmarker is not None:
                landmarker.close()


# ----- the worker process ---------------------------------------------------------------------------
DETECT_THREADS = 2  # two cores on the machines measured; more threads than cores only add switching
_STOP = "stop"


def _worker_main(incoming, outgoing, is_avatar: bool, detect_threads: int) -> None:
    """The worker: build the models, then measure clip after clip until told to stop.

    Messages in: ("begin", arc dict, fps, n_frames, is_avatar), ("see", index, frame, reference),
    ("finish", envelope), ("abort",), "stop". Out, for each finish: ("report", scores, busy seconds,
    CPU seconds of the worker for the clip) or ("error", exception) when the models or a frame failed.
    A reader thread takes the messages off the pipe and starts each frame's landmarks at once, so the
    detector threads keep working while this thread books results and runs the scorer; it holds at most
    QUEUE_FRAMES frames (then the caller waits).
    """
    work: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    meter: FrameMeter | None = None
    error: BaseException | None = None
    try:
        meter = FrameMeter(is_avatar, detect_threads)
    except BaseException as err:
        error = _portable(err)
    reader = threading.Thread(target=_read, args=(incoming, meter, work), name="emogen-meter-reader", daemon=True)
    reader.start()
    cpu_at_begin = time.process_time()
    try:
        while (message := work.get()) != _STOP:
            kind = message[0]
            if kind == "begin":
                cpu_at_begin = time.process_time()
            elif kind == "abort":
                error = error if meter is None else None  # a failed clip is dropped; failed models stay failed
                continue
            if error is None:
                try:
                    if kind == "begin":
                        meter.begin(EmotionArc.from_dict(message[1]), message[2], message[3], message[4])
                    elif kind == "see":
                        meter.book(*message[1:])
                    elif kind == "finish":
                        scores = meter.report(message[1])
                        outgoing.send(("report", scores, meter.busy_s, time.process_time() - cpu_at_begin))
                except BaseException as err:
                    error = _portable(err)
            if kind == "finish" and error is not None:
                outgoing.send(("error", error))
                error = error if meter is None else None
    finally:
        if meter is not None:
            meter.close()


def _read(incoming, meter: FrameMeter | None, work: queue.Queue) -> None:
    """The worker's reader thread: messages off the pipe into ``work``, each frame's landmarks started."""
    try:
        while (message := incoming.recv()) != _STOP:
            if message[0] == "see" and meter is not None:
                _, index, frame, reference = message
                message = ("see", index, frame, reference, *meter.submit(frame, reference))
            work.put(message)
    except (EOFError, OSError):
        pass  # the caller went away
    work.put(_STOP)


def _portable(err: BaseException) -> BaseException:
    """An exception that survives pickling to the caller (a missing package as the EmotionError to show)."""
    if isinstance(err, ImportError):
        return _missing(err)
    if isinstance(err, EmotionError):
        return EmotionError(str(err))
    return RuntimeError(f"measuring the video failed in the meter's worker: {type(err).__name__}: {err}")


class _Worker:
    """One worker process and the pipes to it.

    Started with ``python -c`` rather than multiprocessing's spawn: spawn re-runs the caller's main
    script in the child, which breaks any script that calls ``talk`` without an ``if __name__ ==
    "__main__"`` guard. The pipes are multiprocessing Connections on inherited file descriptors.
    """

    def __init__(self, is_avatar: bool) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])  # emogen importable whatever sys.path holds
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
        command = [sys.executable, "-c", "import sys; from emogen.talking.meter import _worker_entry; "
                   "_worker_entry(*map(int, sys.argv[1:]))",
                   str(to_child_r), str(from_child_w), str(int(is_avatar)), str(DETECT_THREADS)]
        try:
            self.process = subprocess.Popen(command, pass_fds=(to_child_r, from_child_w), env=env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.sending = Connection(to_child_w, readable=False)
        self.receiving = Connection(from_child_r, writable=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _stopped(self) -> RuntimeError:
        return RuntimeError(f"the meter's worker process stopped (exit code {self.process.poll()}); "
                            "run again, or turn scoring off (--no-score)")

    def send(self, message) -> None:
        try:
            self.sending.send(message)
        except (BrokenPipeError, EOFError, OSError):
            raise self._stopped() from None

    def receive(self):
        try:
            return self.receiving.recv()
        except (EOFError, OSError):
            raise self._stopped() from None

    def stop(self) -> None:
        try:
            self.sending.send(_STOP)
        except (BrokenPipeError, EOFError, OSError):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.sending.close()
        self.receiving.close()


def _worker_entry(read_fd: int, write_fd: int, is_avatar: int, detect_threads: int) -> None:
    """The child's side of ``_Worker``: the pipes from their file descriptors, then ``_worker_main``."""
    _worker_main(Connection(read_fd, writable=False), Connection(write_fd, readable=False),
                 bool(is_avatar), detect_threads)


_IDLE_WORKERS: list[_Worker] = []
_WORKERS_LOCK = threading.Lock()


def _checkout(is_avatar: bool) -> _Worker:
    """An idle live worker of this process (models loaded), else a new one."""
    with _WORKERS_LOCK:
        while _IDLE_WORKERS:
            worker = _IDLE_WORKERS.pop()
            if worker.alive():
                return worker
            worker.stop()
    return _Worker(is_avatar)


def _give_back(worker: _Worker) -> None:
    with _WORKERS_LOCK:
        _IDLE_WORKERS.append(worker)


@atexit.register
def shutdown_workers() -> None:
    """Stop the idle workers (at exit; also useful to free their memory in a long session)."""
    with _WORKERS_LOCK:
        workers, _IDLE_WORKERS[:] = list(_IDLE_WORKERS), []
    for worker in workers:
        worker.stop()


BUFFER_BYTES = 96 * 2**20  # frames rendered ahead of what the worker has read (256 px: ~490 frames)


class BackgroundMeter:
    """A FrameMeter in a worker process: ``see`` hands a frame over and returns. ``is_avatar``: the
    EmoFaces scorer reads the frames (else the FER2013 photo scorer). Construct it early: the worker
    loads its models while the caller does other work.

    A sender thread feeds the worker, from a buffer of up to BUFFER_BYTES of frames: while the worker
    still loads its models, rendering and encoding go on (the pipe to it would block at once)."""

    def __init__(self, is_avatar: bool) -> None:
        for package in ("mediapipe", "torch"):
            if importlib.util.find_spec(package) is None:  # fail now, not after the speech is made
                raise _missing(ImportError(name=package))
        self.is_avatar = is_avatar
        self._worker: _Worker | None = _checkout(is_avatar)
        self._buffer: queue.Queue | None = None
        self._sender: threading.Thread | None = None
        self._send_error: BaseException | None = None
        self.cpu_s = 0.0

    def begin(self, arc: EmotionArc, fps: float, n_frames: int) -> None:
        self._worker.send(("begin", arc.to_dict(), fps, n_frames, self.is_avatar))

    def see(self, index: int, frame: np.ndarray, reference: np.ndarray | None = None) -> None:
        if self._buffer is None:
            self._buffer = queue.Queue(maxsize=max(QUEUE_FRAMES, BUFFER_BYTES // max(1, np.asarray(frame).nbytes)))
            self._sender = threading.Thread(target=self._send_frames, args=(self._worker, self._buffer),
                                            name="emogen-meter-sender", daemon=True)
            self._sender.start()
        self._buffer.put(("see", index, frame, reference))

    def _send_frames(self, worker: _Worker, buffer: queue.Queue) -> None:
        while (message := buffer.get()) is not None:
            if self._send_error is None:
                try:
                    worker.send(message)
                except BaseException as err:  # raised in finish(); keep taking frames so see() never blocks
                    self._send_error = err

    def _stop_sender(self) -> None:
        if self._sender is not None:
            self._buffer.put(None)
            self._sender.join()
            self._sender = self._buffer = None

    def finish(self, envelope: np.ndarray) -> tuple[dict, float]:
        """Wait for the frames handed over; the scores and the seconds the meter spent on frames."""
        self._stop_sender()
        worker, self._worker = self._worker, None
        try:
            if self._send_error is not None:
                raise self._send_error
            worker.send(("finish", np.asarray(envelope)))
            answer = worker.receive()
        except BaseException:
            worker.stop()
            raise
        if answer[0] == "error":
            worker.stop()  # a fresh worker for the next call
            raise answer[1]
        _give_back(worker)
        _, scores, busy_s, self.cpu_s = answer
        return scores, busy_s

    def abort(self) -> None:
        """After a failure elsewhere: drop the clip (nothing is reported); the worker serves the next call."""
        self._stop_sender()
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            if self._send_error is not None:
                raise self._send_error
            worker.send(("abort",))
        except BaseException:
            worker.stop()
            return
        _give_back(worker)


def _missing(err: ImportError) -> EmotionError:
    return EmotionError(f"measuring the video needs {err.name or 'an optional package'} "
                        "(pip install 'emogen[faces]'), or turn scoring off (--no-score)")


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None
