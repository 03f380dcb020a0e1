"""The command line, on top of every other part: the ``ganaudit`` console script and its
subcommands, the Hydra entry decorator and ``describe``."""
