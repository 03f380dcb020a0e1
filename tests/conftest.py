"""Root test configuration shared by every test package."""

import os

# Keep Hydra and Lightning quiet and offline in tests.
os.environ.setdefault("HYDRA_FULL_ERROR", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
