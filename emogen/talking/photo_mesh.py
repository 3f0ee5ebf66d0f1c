"""The warp mesh of a photo portrait: MediaPipe's face triangulation plus rings that pin the background.

Vertices are the 478 landmarks, then a *head ring* (the face oval pushed outwards: it follows the
head pose but no expression, so hair and ears move with the head), then an *outer ring*, which never
moves. Everything outside the outer ring is therefore exactly the still photo. Triangles: MediaPipe's canonical tesselation (852 triangles, with holes at the eyes and
the mouth, which we close with strips between the upper and lower contours so that lids and lips
stay separate even where they touch), and strips between the oval and the two rings.

A frame is drawn by backward mapping: every output pixel inside the outer ring finds its triangle
in the *moved* mesh (triangles rasterised far to near, so where the mesh folds under a head turn
the nearer surface wins) and its source position by that triangle's affine map. Rasterising ~1000
small triangles with OpenCV takes about 2 ms at 256 px; the rest is vectorised numpy.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

# Ordered contours of MediaPipe's 478-point face mesh (the same indices as mediapipe's
# FaceLandmarksConnections, written as ordered paths). "Right" is the subject's right: the
# image's left in a frontal photo.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)  # lower edge outer->inner, then upper edge
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER = 468, 473
NUM_LANDMARKS = 478

HEAD_RING_SCALE = 1.22  # about the oval's centre; takes in the hair line and the ears
OUTER_RING_SCALE = 1.55


@functools.lru_cache(maxsize=1)
def face_tesselation() -> np.ndarray:
    """MediaPipe's canonical face triangles, (852, 3) landmark indices.

    mediapipe lists the tesselation as edges, three per triangle in order (a-b, b-c, c-a).
    """
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections

    edges = FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION
    return np.array([[edges[k].start, edges[k + 1].start, edges[k + 2].start]
                     for k in range(0, len(edges), 3)], dtype=np.int32)


def face_oval_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: inside the landmarks' face oval."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(FACE_OVAL), :2]).astype(np.int32)], 1)
    return mask.astype(bool)


def strip(upper: tuple[int, ...] | np.ndarray, lower: tuple[int, ...] | np.ndarray,
          closed: bool = False) -> list[tuple[int, int, int]]:
    """Triangles filling the band between two paths of equal length (vertex indices)."""
    n = len(upper)
    pairs = range(n) if closed else range(n - 1)
    triangles = []
    for i in pairs:
        j = (i + 1) % n
        triangles += [(upper[i], lower[i], upper[j]), (upper[j], lower[i], lower[j])]
    return [t for t in triangles if len(set(t)) == 3]  # contours share their corner points


def ring(points: np.ndarray, centre: np.ndarray, scale: float, size: int) -> np.ndarray:
    """``points`` pushed away from ``centre`` by ``scale``, kept a pixel inside the crop."""
    return np.clip(centre + (points - centre) * scale, 1.0, size - 2.0)


class WarpMesh:
    """Triangles over a square crop and the backward maps that move them.

    ``source`` (V, 2) are the vertex positions in the still; vertex order: landmarks, head ring,
    outer ring (see the module docstring).
    """

    def __init__(self, landmarks: np.ndarray, size: int) -> None:
        self.size = size
        points = np.asarray(landmarks, dtype=np.float64)[:, :2]
        oval = points[list(FACE_OVAL)]
        self.centre = oval.mean(axis=0)
        head_ring = ring(oval, self.centre, HEAD_RING_SCALE, size)
        outer_ring = ring(oval, self.centre, OUTER_RING_SCALE, size)
        n = NUM_LANDMARKS
        self.head_ring_ids = np.arange(n, n + len(FACE_OVAL))
        self.outer_ring_ids = self.head_ring_ids + len(FACE_OVAL)
        self.source = np.concatenate([points, head_ring, outer_ring])
        oval_ids = np.array(FACE_OVAL)

        moving = [tuple(t) for t in face_tesselation()]
        skin = len(moving)
        moving += strip(LIPS_UPPER_INNER, LIPS_LOWER_INNER)
        moving += strip(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER) + strip(LEFT_EYE_UPPER, LEFT_EYE_LOWER)
        gaps = len(moving)
        moving += strip(oval_ids, self.head_ring_ids, closed=True)
        moving += strip(self.head_ring_ids, self.outer_ring_ids, closed=True)
        self.triangles = np.array(moving, dtype=np.int32)  # everything inside the outer ring
        # The lip and eye gaps close (and may invert) by design when the lips meet or the lids shut.
        self.gap_triangles = np.zeros(len(moving), dtype=bool)
        self.gap_triangles[skin:gaps] = True

        # The region outside the outer ring never moves; frames copy it from the still.
        outline = np.round(self.source[self.outer_ring_ids] * 16).astype(np.int32)
        inside = np.zeros((size, size), dtype=np.uint8)
        cv2.fillPoly(inside, [outline], 1, lineType=cv2.LINE_8, shift=4)
        self.static_mask = inside == 0
        ys, xs = np.nonzero(~self.static_mask)
        margin = 2
        self.box = (max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, size),
                    max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, size))
        y0, y1, x0, x1 = self.box
        grid_y, grid_x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self._grid = (grid_x, grid_y)

    def folded(self, target: np.ndarray) -> np.ndarray:
        """(K, 3) the skin and head triangles that vertices moved to ``target`` (V, 2) turn over: where the
        warp folds the picture onto itself (the lip and eye gaps are left out)."""
        def signed_area(points: np.ndarray) -> np.ndarray:
            a, b, c = (points[self.triangles[:, k]] for k in range(3))
            return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

        before, after = signed_area(self.source), signed_area(np.asarray(target, dtype=np.float64))
        turned = (np.abs(before) > 1e-3) & (np.sign(before) != np.sign(after)) & ~self.gap_triangles
        return self.triangles[turned]

    def maps(self, target: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backward maps over ``self.box`` for the vertices moved to ``target`` (V, 2).

        ``depth`` (V,) orders overlapping triangles (larger = farther, MediaPipe's z). Returns
        map_x, map_y (float32, the box's shape) and the mask of pixels some triangle covers.
        """
        y0, y1, x0, x1 = self.box
        height, width = y1 - y0, x1 - x0
        tris = self.triangles
        dst = target[tris]  # (T, 3, 2)
        src = self.source[tris]
        # Affine map per triangle: [x_src, y_src] = A @ [x_dst, y_dst, 1].
        homogeneous = np.concatenate([dst, np.ones((len(tris), 3, 1))], axis=2)  # (T, 3, 3)
        det = np.linalg.det(homogeneous)
        usable = np.abs(det) > 1e-6  # degenerate (zero-area) triangles cover no pixel
        affine = np.zeros((len(tris), 2, 3))
        affine[usable] = np.linalg.solve(homogeneous[usable], src[usable]).transpose(0, 2, 1)

        ids = np.full((height, width), -1, dtype=np.int32)
        corners = np.round((dst - (x0, y0)) * 16).astype(np.int32)
        order = np.argsort(-depth[tris].mean(axis=1), kind="stable")  # far first: near ones overwrite
        for t in order[usable[order]]:
            cv2.fillConvexPoly(ids, corners[t], int(t), lineType=cv2.LINE_8, shift=4)
        covered = ids >= 0
        grid_x, grid_y = self._grid
        map_x, map_y = grid_x.copy(), grid_y.copy()
        a = affine[ids[covered]].astype(np.float32)
        gx, gy = grid_x[covered], grid_y[covered]
        map_x[covered] = a[:, 0, 0] * gx + a[:, 0, 1] * gy + a[:, 0, 2]
        map_y[covered] = a[:, 1, 0] * gx + a[:, 1, 1] * gy + a[:, 1, 2]
        return map_x, map_y, covered
