"""Audits of a study's results store: seed variance, top-5%, FID vs budget, verdicts, report.

Modules: ``stats`` (median, IQR, bootstrap CI), ``top5``, ``budget`` (the paper's simulation),
``verdict`` (published numbers), ``plots``, ``report`` (``write_audit``), ``__main__`` (CLI).
"""

from ganaudit.audit.report import AuditOptions, write_audit

__all__ = ["AuditOptions", "write_audit"]
