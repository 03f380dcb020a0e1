"""The study's progress bar and runs that draw their own (Lightning's RichProgressBar) in one process."""

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import RichProgressBar
from torch.utils.data import DataLoader, TensorDataset

from ganaudit.study.driver import StudyDriver, StudyProgress
from ganaudit.study.launch import InlineLauncher
from ganaudit.study.store import ResultsStore
from tests.study.test_driver import small_spec


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, _):
        return (self.w - batch[0]).pow(2).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return DataLoader(TensorDataset(torch.ones(4, 1)), batch_size=2)


class BarsLauncher(InlineLauncher):
    """Each batch first fits a tiny model with Lightning's rich bar in this process, as a run would."""

    def __init__(self, root) -> None:
        self.root, self.fits = root, 0

    def launch(self, keys, plan_path):
        pl.Trainer(max_steps=2, callbacks=[RichProgressBar()], logger=False, enable_checkpointing=False,
                   enable_model_summary=False, accelerator="cpu", default_root_dir=str(self.root)).fit(_Tiny())
        self.fits += 1
        return super().launch(keys, plan_path)


def test_study_with_in_process_rich_bars_ends_without_error(tmp_path):
    spec = small_spec(seeds=(0,))
    launcher = BarsLauncher(tmp_path / "fit")
    with StudyProgress("study drv") as progress:   # before the fix: IndexError: pop from empty list on exit
        summary = StudyDriver(spec, tmp_path / "res", task="standin", launcher=launcher, batch_size=2,
                              progress=progress).run()
        assert progress._bar.live.is_started                    # drawn again after each batch
    assert launcher.fits == 2 and summary["launched"] == 4
    assert summary["statuses"] == {"ok": 2, "diverged": 2}
    assert len(ResultsStore(tmp_path / "res").records()) == 4
    assert progress._bar.tasks[0].completed == 4 and progress._bar.tasks[0].total == 4
