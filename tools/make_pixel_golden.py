#!/usr/bin/env python3
"""Write android_demo/golden/pixels.json: pixel-contract test vectors computed by the Python library.

The native (JNI) conversion of the Android sample is tested against this file on the host, and the
Python tests check the library still produces it, so the two sides cannot drift.
"""

import json
import os

import numpy as np

from cin_style.stylization.controls import BORDER_MARGIN, add_border_margin
from cin_style.files.images import load_image, to_pil
from cin_style.model.architecture import pad_to_size_multiple
from cin_style.stylization.tflite_backend import dequantize, quantize

PIXELS = [0xFF000000, 0xFFFFFFFF, 0xFF804020, 0x80FF0001, 0xFF7F7F7F, 0x12345678, 0xFF01FE80, 0x00000000]
OUTPUT_FLOATS = [-0.1, 0.0, 0.5, 0.501960814, 1.0, 1.7, 0.25, 0.75, 0.001, 0.998, 0.3333333, 0.6666667]
QUANTIZED_OUTPUTS = [-128, -1, 0, 1, 127, 50, -77, 12, 99]
# (height, width, margin) of the mirror-padding cases: margins cut to side - 1, none, full
MIRROR_CASES = [(5, 6, BORDER_MARGIN), (4, 4, 0), (7, 9, BORDER_MARGIN), (20, 13, BORDER_MARGIN), (9, 4, 2)]
QUANTIZATIONS = [{"scale": float(np.float32(1 / 255)), "zero_point": -128, "signed": True},
                 {"scale": 0.0078125, "zero_point": 0, "signed": True},
                 {"scale": float(np.float32(1 / 255)), "zero_point": 0, "signed": False}]


def argb_to_rgb_array(pixels):
    values = np.array(pixels, np.uint32)
    return np.stack([(values >> 16) & 0xFF, (values >> 8) & 0xFF, values & 0xFF], axis=1).astype(np.uint8)


def rgb_to_argb(rgb8):
    rgb8 = rgb8.astype(np.uint32)
    return [int(np.int32(np.uint32(0xFF000000 | (r << 16) | (g << 8) | b))) for r, g, b in rgb8]


def golden():
    rgb8 = argb_to_rgb_array(PIXELS)
    floats = load_image(rgb8[None]).rgb[0]  # the library's own uint8 -> float conversion
    data = {"pixels": [int(np.int32(np.uint32(p))) for p in PIXELS],
            "to_float": [float(v) for v in floats.ravel()],
            "to_quantized": [], "from_float": {}, "from_quantized": []}
    for q in QUANTIZATIONS:
        dtype = np.int8 if q["signed"] else np.uint8
        values = quantize(floats, q["scale"], q["zero_point"], dtype)
        data["to_quantized"].append({**q, "values": [int(v) for v in values.ravel()]})
    outputs = np.array(OUTPUT_FLOATS, np.float32).reshape(-1, 3)
    rendered = np.asarray(to_pil(np.clip(outputs[None], 0, 1)))[0]  # the library's float -> uint8 conversion
    data["from_float"] = {"values": [float(v) for v in outputs.ravel()], "pixels": rgb_to_argb(rendered)}
    for q in QUANTIZATIONS:
        values = np.array(QUANTIZED_OUTPUTS, np.int32)
        values = np.clip(values, -128, 127) if q["signed"] else np.abs(values)
        floats_out = np.clip(dequantize(values, q["scale"], q["zero_point"]).reshape(-1, 3), 0, 1)
        pixels = rgb_to_argb(np.asarray(to_pil(floats_out[None]))[0])
        data["from_quantized"].append({**q, "values": [int(v) for v in values], "pixels": pixels})
    data["mirror_pad"] = []
    for height, width, margin in MIRROR_CASES:
        source = np.arange(height * width, dtype=np.int32).reshape(height, width, 1) * 7919 - 123456
        inner, (margin_y, margin_x) = add_border_margin(source, margin)
        padded = pad_to_size_multiple(inner)  # the library's own padding of model inputs
        data["mirror_pad"].append({"mirror_width": width, "mirror_height": height,
                                   "mirror_margin_x": margin_x, "mirror_margin_y": margin_y,
                                   "mirror_padded_width": int(padded.shape[1]),
                                   "mirror_padded_height": int(padded.shape[0]),
                                   "mirror_source": [int(v) for v in source.ravel()],
                                   "mirror_padded": [int(v) for v in padded.ravel()]})
    return data


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "android_demo", "golden", "pixels.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(golden(), handle, indent=1)
        handle.write("\n")
    print(path)
