"""Measuring a talking-head video while it is made: every frame goes past the real landmarker and a scorer.

``FrameMeter`` holds the models and the running measurements; ``BackgroundMeter`` runs it on a second
thread, so that on a two-core machine measuring overlaps with synthesis, rendering and encoding instead
of adding to them (MediaPipe and torch do their work outside the GIL). Its models load on that thread
too, from the moment ``talk`` starts, which hides part of their start-up time behind the speech synthesis.
Imports and threads: nothing is imported on two threads at once. A module half-imported on one thread
is seen half-made by code on the other that looks into ``sys.modules`` (scipy's array-API layer probes
``sys.modules["torch"]``), and two threads importing torch/diffusers modules in different orders can
deadlock on the import locks (seen: a hang when the audio model and the scorer loaded together). So every
module the meter needs is imported on the caller's thread, and ``talk`` imports (and loads) what it
needs itself before the meter's thread starts; that thread only builds the models and measures.
"""
from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np

from emogen.emotion import EmotionArc
from emogen.errors import EmotionError

IDENTITY_SAMPLES = 8  # frames compared with the neutral portrait for identity preservation
# Frames per second of video the expression scorer reads: an expression changes over hundreds of
# milliseconds, so every frame would add cost without information. FER2013 costs more per frame.
AVATAR_SCORES_PER_SECOND = 12.5
PHOTO_SCORES_PER_SECOND = 5.0
SCORE_BATCH = 32
QUEUE_FRAMES = 64  # frames waiting for the meter at most (bounds memory if measuring falls behind)


def import_models(is_avatar: bool) -> None:
    """Import what FrameMeter needs (mediapipe, torch, the scorer) on the calling thread (see the module doc)."""
    import mediapipe.tasks.python.vision  # noqa: F401

    import emogen.face.landmarks  # noqa: F401
    import emogen.score.estimate  # noqa: F401
    import emogen.talking.lipsync  # noqa: F401
    import skimage.metrics  # noqa: F401

    if is_avatar:
        import emogen.score.emofaces  # noqa: F401
    else:
        import emogen.score.photo  # noqa: F401


def identity_frames(n_frames: int) -> set[int]:
    """The frames compared with the neutral portrait: IDENTITY_SAMPLES spread over the clip."""
    return set(np.linspace(0, n_frames - 1, min(IDENTITY_SAMPLES, n_frames)).round().astype(int).tolist())


class FrameMeter:
    """Mouth opening in every frame (real landmarker), the emotion scorer on AVATAR_SCORES_PER_SECOND or
    PHOTO_SCORES_PER_SECOND frames per second, identity on IDENTITY_SAMPLES frames."""

    def __init__(self, is_avatar: bool) -> None:
        from emogen.face.landmarks import FaceLandmarker

        self.landmarker = FaceLandmarker(max_faces=1)
        self.is_avatar = is_avatar
        if self.is_avatar:
            from emogen.score.emofaces import EmoFacesScorer

            self.scorer = EmoFacesScorer()
        else:
            from emogen.score.photo import FerScorer

            self.scorer = FerScorer(landmarker=self.landmarker)
        self.busy_s = 0.0

    def begin(self, arc: EmotionArc, fps: float, n_frames: int) -> None:
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

    def see(self, index: int, frame: np.ndarray, reference: np.ndarray | None = None) -> None:
        """Measure one frame; ``reference`` (on ``identity_frames``) is the neutral portrait at its pose."""
        from emogen.talking.lipsync import face_ssim, mouth_opening, shape_distance

        clock = time.perf_counter()
        faces = self.landmarker.detect(frame)
        if faces:
            self.openings[index] = mouth_opening(faces[0].landmarks)
        if index % self.score_every == 0:
            if self.is_avatar:
                self._pending.append((index, frame))
                if len(self._pending) >= SCORE_BATCH:
                    self._score_pending()
            elif faces:
                self._add_photo_estimate(index, self.scorer.face_probs(frame, faces[0]))
        if reference is not None and faces:
            neutral_faces = self.landmarker.detect(reference)
            if neutral_faces:
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

        self._score_pending()
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
        self.landmarker.close()


class BackgroundMeter:
    """A FrameMeter on its own thread: ``see`` queues a frame and returns at once. ``is_avatar``: the
    EmoFaces scorer reads the frames (else the FER2013 photo scorer)."""

    def __init__(self, is_avatar: bool) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._meter: FrameMeter | None = None
        self._error: BaseException | None = None
        try:
            import_models(is_avatar)
        except ImportError as err:
            raise _missing(err) from err
        self._thread = threading.Thread(target=self._run, args=(is_avatar,), name="emogen-talk-meter", daemon=True)
        self._thread.start()

    def _run(self, is_avatar: bool) -> None:
        try:
            self._meter = FrameMeter(is_avatar)
            while (item := self._queue.get()) is not None:
                if callable(item):
                    item(self._meter)
                else:
                    self._meter.see(*item)
        except ImportError as err:
            self._error = _missing(err)
            self._drain()
        except BaseException as err:  # handed to the caller in finish()
            self._error = err
            self._drain()

    def _drain(self) -> None:
        """After a failure: take what the producer still sends, so that it never blocks, until it stops."""
        while self._queue.get() is not None:
            pass

    def begin(self, arc: EmotionArc, fps: float, n_frames: int) -> None:
        self._queue.put(lambda meter: meter.begin(arc, fps, n_frames))

    def see(self, index: int, frame: np.ndarray, reference: np.ndarray | None = None) -> None:
        self._queue.put((index, frame, reference))

    def finish(self, envelope: np.ndarray) -> tuple[dict, float]:
        """Wait for the queued frames; the scores and the seconds the meter spent on frames."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        try:
            return self._meter.report(envelope), self._meter.busy_s
        finally:
            self._meter.close()

    def abort(self) -> None:
        """Stop the thread after a failure elsewhere (nothing is reported)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _missing(err: ImportError) -> EmotionError:
    return EmotionError(f"measuring the video needs {err.name or 'an optional package'} "
                        "(pip install 'emogen[faces]'), or turn scoring off (--no-score)")


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None
