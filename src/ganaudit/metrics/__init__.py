"""Evaluation metrics (spec §6): pure float64 maths, streaming wrappers, extractors, protocols.

    from ganaudit.metrics import fid, kid, inception_score, ms_ssim
    fid(feats_a [N, d], feats_b [M, d]) -> float          # numpy arrays or tensors
    kid(feats_a, feats_b) -> float
    inception_score(logits [N, K]) -> float
    ms_ssim(images_a [N, 3, H, W], images_b [N, 3, H, W]) -> float   # [0, 255], mean over pairs

Note: the names ``fid``, ``kid``, ``inception_score`` and ``ms_ssim`` of this package are the
functions; import their modules' other names with ``from ganaudit.metrics.fid import ...``.
"""

from ganaudit.metrics.features import EXTRACTORS
from ganaudit.metrics.fid import feature_stats, fid, fid_from_stats
from ganaudit.metrics.inception_score import inception_score
from ganaudit.metrics.kid import kid, kid_with_std
from ganaudit.metrics.ms_ssim import diversity_ms_ssim, ms_ssim
from ganaudit.metrics.protocols import PROTOCOLS, Protocol, protocol_for

__all__ = [
    "EXTRACTORS", "PROTOCOLS", "Protocol", "diversity_ms_ssim", "feature_stats", "fid",
    "fid_from_stats", "inception_score", "kid", "kid_with_std", "ms_ssim", "protocol_for",
]
