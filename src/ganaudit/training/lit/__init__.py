"""Lightning shell of the training core: the GAN module (study loop) and its callbacks."""

from ganaudit.training.lit.callbacks import DStepCheckpoint, EvalCallback
from ganaudit.training.lit.gan_module import GANModule

__all__ = ["GANModule", "DStepCheckpoint", "EvalCallback"]
