"""Root test configuration shared by every test package."""

import os

# Keep Hydra and Lightning quiet and offline in tests.
os.environ.setdefault("HYDRA_FULL_ERROR", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

# The suite runs in determinism=portable (the configs' default): its pinned environment must be in
# place before torch is imported (ganaudit.utils.determinism), so that train() accepts it in-process.
from ganaudit.utils.determinism import mode_env

os.environ.update(mode_env("portable"))
