#!/usr/bin/env python
"""Audit one study (thin wrapper over ganaudit.audit; the `audit` stage of dvc.yaml runs it).

    python audits/audit_study.py demo            # results/studies/demo -> audits/reports/demo
    python audits/audit_study.py demo --top-pool setting_medians --seed-pick median

Extra options are those of `python -m ganaudit.audit --help`.
"""

import sys

from ganaudit.cli.audit import main

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    from ganaudit.utils.determinism import reexec_cli

    reexec_cli()  # --determinism portable (default): the floor with the runs' kernels, on any CPU
    study, rest = sys.argv[1], sys.argv[2:]
    sys.exit(main(["--results", f"results/studies/{study}", "--out", f"audits/reports/{study}", *rest]))
