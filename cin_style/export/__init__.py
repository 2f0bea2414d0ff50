"""Export to TFLite for phones: the converter (:mod:`.tflite`), int8 calibration (:mod:`.calibration`)
and quantization-aware fine-tuning (:mod:`.qat`)."""

from cin_style import _moved

_FLAT_MODULE_NAMES = {  # what ``cin_style.export`` held before it became this package
    **dict.fromkeys(("MODES", "FLOAT_END_LAYERS", "export_tflite", "representative_images"), "cin_style.export.tflite"),
    **dict.fromkeys(("export_network", "equalize_channel_scales"), "cin_style.export.network"),
    "SIGNATURE_KEY": "cin_style.stylization.tflite_contract",
}


def __getattr__(name: str):
    return _moved.moved_attribute(__name__, name, _FLAT_MODULE_NAMES)
