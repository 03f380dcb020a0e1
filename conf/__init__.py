"""Hydra configuration package: the primary configs and their groups (``pkg://ganaudit.conf``).

Hydra imports this package to read the configs from it, so the schemas the YAML files start from
(``- base_config``, ``- base_loss``, ...) are registered in Hydra's ConfigStore here.
"""

from ganaudit.training.schema import register

register()
