"""Evaluation protocols: a name fixes every choice behind a number (spec §6).

A :class:`Protocol` fixes the extractor (and so its weights and preprocessing), the real split and
how many of its images (the FIRST n in file order), the number of fakes, the latent seed and
distribution, generation and extraction batch sizes, which metrics are computed, the KID block
size, the MS-SSIM sampling, the float64 statistics and the NaN sentinel. Nothing is computed
outside a protocol.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ganaudit.utils.errors import ConfigError
from ganaudit.utils.registry import Registry

NAN_FID_SENTINEL = 31337.0  # [V2] NAN_DETECTED: FID, IS and MS-SSIM recorded for NaN samples
LATENT_RNGS = ("numpy_legacy", "torch")  # see ganaudit.metrics.evaluate.eval_latents
IS_LOGITS = ("with_bias", "without_bias")  # TF-GAN's logits:0 | OpenAI's IS code (pool3 @ W, no bias)


@dataclass(frozen=True)
class Protocol:
    """Every choice of one evaluation protocol. Counts are per dataset; ``None`` = the whole split."""

    name: str
    extractor: str  # name in ganaudit.metrics.features.EXTRACTORS
    real_split: str  # "test" | "train"
    n_real: dict[str, int | None]  # dataset -> number of real images (first n of the split)
    n_fake: dict[str, int]  # dataset -> number of generated images
    metrics: tuple[str, ...] = ("fid", "is", "kid")
    ms_ssim_datasets: tuple[str, ...] = ()
    latent_seed: int = 42  # np.random.seed(42) in the study: the same z for every checkpoint
    latent_dist: str = "uniform(-1,1)"
    latent_rng: str = "numpy_legacy"  # the study's np.random stream; "torch": torch.Generator (older ganaudit)
    gen_batch: int = 64  # ceil(N/64) batches truncated to N (spec §6.1)
    extract_batch: int = 50  # INCEPTION_BATCH
    kid_block: int = 1024
    diversity_seed: int = 42  # UNCONFIRMED in the study (shuffle_batch); our fixed choice
    diversity_batches: int = 5
    diversity_batch_size: int = 64
    ms_ssim_shrink_sigma: bool = False  # the study keeps sigma 1.5 at coarse scales
    is_logits: str = "with_bias"  # IS from the 1008 logits incl. the softmax bias, as the study
    dtype: str = "float64"
    nan_fid: float = NAN_FID_SENTINEL
    description: str = ""
    keep_real_features: bool = field(default=True)  # KID needs the real features, not only (mu, Sigma)

    def __post_init__(self) -> None:
        for key, value, allowed in (("latent_rng", self.latent_rng, LATENT_RNGS),
                                    ("is_logits", self.is_logits, IS_LOGITS)):
            if value not in allowed:
                raise ConfigError(f"protocol '{self.name}': {key} = {value!r}; expected one of {', '.join(allowed)}")

    def check_dataset(self, dataset: str) -> None:
        """ConfigError unless this protocol is defined for ``dataset``."""
        if dataset not in self.n_fake:
            raise ConfigError(
                f"protocol '{self.name}' is not defined for dataset '{dataset}'; "
                f"allowed datasets for option 'eval.protocol={self.name}': {', '.join(sorted(self.n_fake))}"
            )

    def counts(self, dataset: str) -> tuple[int | None, int]:
        """(n_real or None for the whole split, n_fake) for ``dataset``."""
        self.check_dataset(dataset)
        return self.n_real[dataset], self.n_fake[dataset]

    def wants_ms_ssim(self, dataset: str) -> bool:
        return dataset in self.ms_ssim_datasets

    def as_dict(self) -> dict:
        return asdict(self)


PROTOCOLS: Registry[Protocol] = Registry("protocol")


def _register(p: Protocol) -> Protocol:
    return PROTOCOLS.register(p.name)(p)


STUDY_N = {"cifar10": 10_000, "lsun_bedroom": 10_000, "celeba_hq_128": 3_000}

KURACH2019 = _register(Protocol(
    name="kurach2019", extractor="inception_2015_12_05", real_split="test",
    n_real=dict(STUDY_N), n_fake=dict(STUDY_N), metrics=("fid", "is", "kid"),
    ms_ssim_datasets=("celeba_hq_128",),
    description="The study's protocol (spec §6): first N test images vs N fakes, FID/IS/KID from "
                "the 2015-12-05 Inception (pool3/logits), MS-SSIM on CelebA-HQ.",
))

TTUR50K_TRAIN = _register(Protocol(
    name="ttur50k_train", extractor="inception_2015_12_05", real_split="train",
    n_real={k: None for k in STUDY_N}, n_fake={k: 50_000 for k in STUDY_N}, metrics=("fid", "is"),
    keep_real_features=False,
    description="TTUR-style FID: 50k fakes vs the whole train split (for papers that used it); "
                "no KID (it would need every real feature).",
))

KURACH2019_IS_NOBIAS = _register(replace(
    KURACH2019, name="kurach2019_is_nobias", is_logits="without_bias",
    description="kurach2019 with the Inception Score from logits without the softmax bias "
                "(pool3 @ W, as OpenAI's IS code); FID/KID/MS-SSIM as kurach2019. Not the study's IS.",
))

DIGITS_CNN = _register(Protocol(
    name="digits_cnn", extractor="digits_cnn", real_split="test",
    n_real={"digits": 500}, n_fake={"digits": 500}, metrics=("fid", "is", "kid"),
    extract_batch=250,
    description="Offline demo: the whole 500-image digits test split vs 500 fakes; FID/KID from the "
                "small digits classifier's 64-d features, IS from its 10 logits. Not Inception numbers.",
))


def protocol_for(dataset: str, protocol: str = "auto") -> Protocol:
    """The Protocol named ``protocol`` ("auto": digits -> digits_cnn, else kurach2019), checked for ``dataset``."""
    name = ("digits_cnn" if dataset == "digits" else "kurach2019") if protocol == "auto" else protocol
    proto = PROTOCOLS.get(name)
    proto.check_dataset(dataset)
    return proto
