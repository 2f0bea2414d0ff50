"""Flicker of stylized video: per-frame stylization against the temporal stabilizer, on one clip.

    python tools/video_flicker.py --clip CLIP.mp4 [--noise 0.02] [--frames 120] [--width 640]
    python tools/video_flicker.py --pan-photo assets/examples/coffee.jpg --strip docs/video_strip.jpg

``--clip`` reads a video; ``--pan-photo`` films a photo with a simulated camera pan instead (sub-pixel
steps, a slight drift down), whose motion is known exactly. ``--noise`` adds fresh Gaussian sensor noise
(standard deviation, 0-1 scale) to every frame, as a dim room or a phone camera does.

Figures, per style and stability:
- temporal error: mean |O_t - warp(O_t-1)| over the pixels whose motion the input explains (the clean
  input frames agree within 4/255 after warping), in 0-255 levels. The warp is the known pan, or for a
  clip OpenCV's Farneback flow of the clean input frames (the stabilizer itself uses DIS flow, so the
  judge does not share its flow);
- ratio to per-frame stylization (target <= 0.7);
- change: mean |O_t - per-frame O_t| (how far the stabilized frames move from what each frame alone
  would give: trails of moving things would show here), and sharpness: mean gradient magnitude relative
  to per-frame.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from PIL import Image

from cin_style.files.images import load_image
from cin_style.stylization.temporal import TemporalSettings, TemporalStabilizer, require_opencv

cv2 = require_opencv()


def clip_frames(path: str, limit: int, width: int) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            height = round(image.height * width / image.width / 2) * 2
            frames.append(np.asarray(image.resize((width, height), Image.Resampling.LANCZOS), np.float32) / 255)
            if len(frames) == limit:
                break
    return frames


def pan_frames(photo: str, count: int, width: int, height: int) -> tuple[list[np.ndarray], list[tuple]]:
    """Frames of a window moving across ``photo`` by (dx, dy) per frame; returns frames and shifts."""
    rgb = load_image(photo).rgb
    scale = max((width + 3.3 * count + 8) / rgb.shape[1], (height + 0.6 * count + 8) / rgb.shape[0], 1.0)
    if scale > 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LANCZOS4)
    frames, shifts = [], []
    for t in range(count):
        x, y = 4 + 3.3 * t, 4 + 0.6 * t
        matrix = np.float32([[1, 0, -x], [0, 1, -y]])
        frames.append(np.clip(cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_CUBIC), 0, 1))
        shifts.append((3.3, 0.6))
    return frames, shifts


def backward_maps(clean: list[np.ndarray], shifts: list[tuple] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """For t >= 1, (map_x, map_y): where each pixel of frame t was in frame t - 1."""
    height, width = clean[0].shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    maps = []
    for t in range(1, len(clean)):
        if shifts is not None:
            dx, dy = shifts[t]
            maps.append((grid_x + dx, grid_y + dy))
            continue
        gray = [cv2.cvtColor((f * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for f in (clean[t], clean[t - 1])]
        flow = cv2.calcOpticalFlowFarneback(gray[0], gray[1], None, 0.5, 4, 21, 5, 7, 1.5, 0)
        maps.append((grid_x + flow[..., 0], grid_y + flow[..., 1]))
    return maps


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def valid_masks(clean: list[np.ndarray], maps) -> list[np.ndarray]:
    height, width = clean[0].shape[:2]
    masks = []
    for t, (map_x, map_y) in enumerate(maps, start=1):
        inside = (map_x >= 1) & (map_x <= width - 2) & (map_y >= 1) & (map_y <= height - 2)
        agree = np.abs(clean[t] - warp(clean[t - 1], (map_x, map_y))).max(axis=2) < 4 / 255
        masks.append(inside & agree)
    return masks


def temporal_error(outputs: list[np.ndarray], maps, masks) -> float:
    errors = [np.abs(outputs[t] - warp(outputs[t - 1], maps[t - 1])).mean(axis=2)[masks[t - 1]].mean() * 255
              for t in range(1, len(outputs))]
    return float(np.mean(errors))


def sharpness(outputs: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(np.diff(o, axis=1)).mean() + np.abs(np.diff(o, axis=0)).mean() for o in outputs]))


def stabilize(frames: list[np.ndarray], stylized: list[np.ndarray], stability: float,
              detail_sigma: float = TemporalSettings.detail_sigma) -> list[np.ndarray]:
    stabilizer = TemporalStabilizer(TemporalSettings(stability=stability, detail_sigma=detail_sigma))
    return [stabilizer(frame, out)[0] for frame, out in zip(frames, stylized)]


def write_strip(path: str, frames: list[np.ndarray], per_frame: list[np.ndarray], steady: list[np.ndarray],
                maps) -> None:
    """Five frames across the clip: input, per-frame, stabilized, then each output's change from the previous
    frame after following the motion (|O_t - warp(O_t-1)|, x3): the flicker, made visible."""
    picks = np.linspace(1, len(frames) - 1, 5).round().astype(int)

    def change(outputs, t):
        return np.repeat(np.clip(3 * np.abs(outputs[t] - warp(outputs[t - 1], maps[t - 1])).mean(axis=2,
                                                                                              keepdims=True), 0, 1),
                         3, axis=2)

    rows = [[images[t] for t in picks] for images in (frames, per_frame, steady)]
    rows += [[change(outputs, t) for t in picks] for outputs in (per_frame, steady)]
    sheet = np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0)
    Image.fromarray((sheet * 255 + 0.5).astype(np.uint8)).save(path, quality=88)
    print(f"{path}: rows input, per-frame, stabilized, per-frame change x3, stabilized change x3; frames "
          f"{', '.join(map(str, picks))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--clip", help="a video file")
    source.add_argument("--pan-photo", help="a photo filmed with a simulated pan")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--width", type=int, default=480, help="frame width (clips are resized)")
    parser.add_argument("--noise", type=float, default=0.02, help="sensor noise added to every frame (0 = none)")
    parser.add_argument("--styles", default="starry_night,the_scream,great_wave")
    parser.add_argument("--stabilities", default="0.5,0.8,0.9")
    parser.add_argument("--detail-sigmas", default=f"{TemporalSettings.detail_sigma:g},0",
                        help="detail_sigma values to compare (the first is used for the strip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strip", help="write a strip of frames (input, per-frame, stabilized) for the first style")
    args = parser.parse_args(argv)

    from cin_style.stylization.tflite_backend import TFLiteStylizer

    shifts = None
    if args.clip:
        clean = clip_frames(args.clip, args.frames, args.width)
    else:
        clean, shifts = pan_frames(args.pan_photo, args.frames, args.width, round(args.width * 2 / 3))
    rng = np.random.default_rng(args.seed)
    noisy = [np.clip(f + rng.normal(0, args.noise, f.shape).astype(np.float32), 0, 1) if args.noise else f
             for f in clean]
    maps = backward_maps(clean, shifts)
    masks = valid_masks(clean, maps)
    print(f"{len(clean)} frames {clean[0].shape[1]}x{clean[0].shape[0]}, noise {args.noise}, "
          f"motion explained on {np.mean([m.mean() for m in masks]):.0%} of pixels")
    stylizer = TFLiteStylizer()
    stabilities = [float(s) for s in args.stabilities.split(",")]
    sigmas = [float(s) for s in args.detail_sigmas.split(",")]
    for style in args.styles.split(","):
        weights = stylizer.style_weights(style)
        start = time.perf_counter()
        per_frame = [stylizer.stylize_array(f, weights) for f in noisy]
        seconds = (time.perf_counter() - start) / len(noisy)
        base_error, base_sharp = temporal_error(per_frame, maps, masks), sharpness(per_frame)
        print(f"{style}: per-frame temporal error {base_error:.2f} levels ({seconds * 1000:.0f} ms a frame)")
        for sigma in sigmas:
            for stability in stabilities:
                start = time.perf_counter()
                steady = stabilize(noisy, per_frame, stability, sigma)
                extra = (time.perf_counter() - start) / len(noisy)
                error = temporal_error(steady, maps, masks)
                change = statistics.mean(float(np.abs(a - b).mean()) * 255 for a, b in zip(steady, per_frame))
                print(f"  detail_sigma {sigma:g}, stability {stability:.2f}: temporal error {error:.2f} levels = "
                      f"{error / base_error:.2f}x per-frame; change {change:.1f} levels; sharpness "
                      f"{sharpness(steady) / base_sharp:.2f}x; +{extra * 1000:.0f} ms a frame")
        if args.strip:
            steady = stabilize(noisy, per_frame, TemporalSettings.stability, sigmas[0])
            write_strip(args.strip, noisy, per_frame, steady, maps)
            args.strip = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
