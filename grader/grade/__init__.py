"""One submission's stages, in order: find, prepare (sanitize, py2, shims, given), execute, probe.

``pipeline`` lists the steps."""
