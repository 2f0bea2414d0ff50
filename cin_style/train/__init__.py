"""Training: the photo stream (:mod:`.data`), the VGG loss network (:mod:`.vgg`), the perceptual
losses (:mod:`.losses`), the training loop (:mod:`.trainer`), output distillation for slim and
quantized students (:mod:`.distillation`) and processor checks (:mod:`.hardware`)."""
