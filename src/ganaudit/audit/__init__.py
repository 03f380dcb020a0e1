"""Audits of a study's results store: seed variance, top-5%, FID vs budget, verdicts, report.

Modules: ``stats`` (median, IQR, bootstrap CI), ``top5``, ``budget`` (the paper's simulation),
``verdict`` (published numbers), ``plots``, ``report`` (``AuditOptions``, ``write_audit``), ``claim``
(one reported FID against seeds), ``compare`` (a fresh run against a committed report), ``baselines``
(the published settings as config files). The command line is ``ganaudit audit`` (ganaudit.cli.audit).

The package imports none of them, so ``ganaudit.audit.baselines`` does not pay for pandas and torch.
"""
