"""GANDataModule: seeded endless stream, independent of num_workers, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaudit.data.datamodule import GANDataModule, batch_indices
from ganaudit.utils.errors import ConfigError


def take(dm: GANDataModule, n: int) -> list[torch.Tensor]:
    it = iter(dm.train_dataloader())
    return [next(it) for _ in range(n)]


def reference_batch(images: np.ndarray, k: int, batch: int, seed: int) -> np.ndarray:
    """Independent reference: pass p = k // (N // B) is default_rng([seed, p]).permutation(N)."""
    per_pass = len(images) // batch
    perm = np.random.default_rng([seed, k // per_pass]).permutation(len(images))
    j = k % per_pass
    return images[perm[j * batch : (j + 1) * batch]].transpose(0, 3, 1, 2).astype(np.float32) / 255


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (37, 6, 6, 3), dtype=np.uint8)


def test_batches_match_the_reference_stream(images):
    batches = take(GANDataModule.from_arrays(images, batch_size=8, seed=3), 10)  # 4 per pass, 2.5 passes
    for k, b in enumerate(batches):
        assert b.dtype == torch.float32 and b.shape == (8, 3, 6, 6)
        assert 0.0 <= float(b.min()) and float(b.max()) <= 1.0
        np.testing.assert_allclose(b.numpy(), reference_batch(images, k, 8, 3), rtol=0, atol=1e-7)
    # drop_last and per-pass reshuffle: one pass has 32 distinct images, passes differ in order
    first = np.concatenate([batch_indices(k, 37, 8, 3) for k in range(4)])
    second = np.concatenate([batch_indices(k, 37, 8, 3) for k in range(4, 8)])
    assert len(set(first)) == 32 and len(set(second)) == 32 and not (first == second).all()


def test_different_seeds_differ(images):
    a = take(GANDataModule.from_arrays(images, 8, seed=0), 2)
    b = take(GANDataModule.from_arrays(images, 8, seed=1), 2)
    assert not torch.equal(a[0], b[0])


@pytest.mark.timeout(180)
def test_same_batches_for_0_and_2_workers_on_a_prepared_store(digits_store):
    data_dir = digits_store[0]
    a = take(GANDataModule("digits", data_dir, batch_size=64, seed=11, num_workers=0), 24)
    dm2 = GANDataModule("digits", data_dir, batch_size=64, seed=11, num_workers=2)
    b = take(dm2, 24)  # 20 batches per pass: crosses a pass boundary
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert dm2.state_dict()["next_batch"] == 24  # delivered batches, not worker prefetch


def test_resume_from_state_equals_uninterrupted(images):
    full = take(GANDataModule.from_arrays(images, 8, seed=5), 12)
    dm = GANDataModule.from_arrays(images, 8, seed=5)
    head = take(dm, 7)
    state = dm.state_dict()
    assert state["next_batch"] == 7 and state["num_images"] == 37
    resumed = GANDataModule.from_arrays(images, 8, seed=5)
    resumed.load_state_dict(state)
    tail = take(resumed, 3)
    tail += take(resumed, 2)  # a new iterator continues the stream, it does not replay it
    assert all(torch.equal(x, y) for x, y in zip(head + tail, full, strict=True))
    with pytest.raises(ConfigError, match="seed=5; this module has seed=6"):
        GANDataModule.from_arrays(images, 8, seed=6).load_state_dict(state)


def test_bad_inputs_are_config_errors(images):
    with pytest.raises(ConfigError, match=r"uint8 \[N, H, W, 3\]"):
        GANDataModule.from_arrays(images.astype(np.float32), 8, 0)
    with pytest.raises(ConfigError, match="batch_size=64 exceeds the 37 images"):
        GANDataModule.from_arrays(images, 64, 0).train_dataloader()
    with pytest.raises(ConfigError, match="batch_size=0"):
        GANDataModule.from_arrays(images, 0, 0)


@pytest.mark.timeout(120)
def test_under_lightning_the_loop_sees_the_reference_stream(images):
    import pytorch_lightning as pl

    seen: list[torch.Tensor] = []

    class Consumer(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, idx):
            seen.append(batch.clone())
            return self.w * batch.mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = GANDataModule.from_arrays(images, 8, seed=2)
    pl.Trainer(max_steps=6, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, accelerator="cpu").fit(Consumer(), datamodule=dm)
    assert len(seen) == 6
    for k, b in enumerate(seen):
        np.testing.assert_allclose(b.numpy(), reference_batch(images, k, 8, 2), rtol=0, atol=1e-7)
    # Lightning's fetcher reads one batch ahead: the delivered position is consumed + 1
    assert dm.state_dict()["next_batch"] in (6, 7)
