"""Judging outputs: Gatys pixel optimization as a reference (:mod:`.gatys`) and the evaluation
metrics (:mod:`.evaluation`)."""
