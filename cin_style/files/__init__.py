"""Files: decoding and encoding images safely (:mod:`.images`), atomic writes (:mod:`.atomic`),
finding image files in folders (:mod:`.folders`)."""
