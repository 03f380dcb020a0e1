"""The bottom floor: what every part of ganaudit may import and which imports no other part.

errors (the exception classes) and exits (how a command ends), hashing, registry, atomic writes
(``io``), logging (``log``), override strings (``overrides``), the repository root and code version
(``repo``), and the process's numeric settings (``determinism``: the kernels every number is computed
with, read by training and by the metrics alike)."""
