"""Committed weight pins (sidecar of the DVC stages' outputs; loading checks the file against them).

``INCEPTION_SHA256_PREFIX``: the torch-hub convention names a file ``<name>-<first 8 hex of sha256>``.
``INCEPTION_SHA256``: the full digest, 95,628,359 bytes. It is the digest that several public projects
record for the same 2015-12-05 port re-hosted as ``weights-inception-2015-12-05-6726825d.pth``; since a
sha256 starting with the file name's ``6726825d`` is what torch-hub naming promises for the original,
both names hold the same bytes. Not measured here (no network): if a genuine download is refused
only by this full pin, the prefix still matched; report it and set this to ``None``.
``DIGITS_CNN_SHA256``: the sha256 of ``artifacts/weights/digits_cnn.pt`` as produced by
``ganaudit digits-cnn train`` (stage ``weights@digits``) on the project's
reference machine; update it with ``ganaudit digits-cnn pin`` after a deliberate
retraining (and say why in the commit). ``None`` means "not pinned yet": the stage's own sidecar
file is then the only check.
"""

INCEPTION_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
INCEPTION_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"
INCEPTION_SHA256: str | None = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"

DIGITS_CNN_FILENAME = "digits_cnn.pt"
DIGITS_CNN_SHA256: str | None = "89ed6b9c5e9cf2273c9eb73dee97f449a0520e2ca89ed2ee19bb36c9418532e3"
