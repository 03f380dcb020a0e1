"""``python -m ganaudit <subcommand> ...``: the same as the ``ganaudit`` console script."""

from ganaudit.cli.main import main

raise SystemExit(main())
