"""Small helpers used across ganaudit, one per job: atomic writes (``io``), the repository root and
code version (``repo``), override strings (``overrides``)."""
