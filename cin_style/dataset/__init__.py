"""Stylizing a whole dataset on Apache Beam (the ``[dataset]`` extra): :mod:`.plan` decides what to do (inputs,
outputs, styles, what a manifest says is done; no Beam), :mod:`.pipeline` runs it on any Beam runner."""
