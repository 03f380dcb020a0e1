"""Training one configuration: the config schema and its checks, precision, the Lightning module,
its callbacks and loggers, and ``train(cfg)``. Uses the axes, data and metrics; knows no study."""
