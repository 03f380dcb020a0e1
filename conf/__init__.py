"""Hydra configuration package: the primary configs and their groups (``pkg://ganaudit.conf``)."""
