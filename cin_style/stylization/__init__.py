"""Stylizing pictures: the controls every backend shares (:mod:`.controls`), the TensorFlow backend
(:mod:`.tf_backend`) and the LiteRT backend for exported .tflite files (:mod:`.tflite_backend`),
whose file contract lives in :mod:`.tflite_contract`."""
