"""The model: TF ops and the conditional instance norm (:mod:`.ops`, :mod:`.layers`), the transform
network (:mod:`.network`), the versioned on-disk format (:mod:`.format`), style names and blends
(:mod:`.styles`) and single-style packs (:mod:`.packs`)."""
