"""The study's axes, one module each: losses, penalties, D normalizations, the optimizer and the
architectures. They know no data, training loop, metric or study (docs/CONTRACTS.md §1)."""
