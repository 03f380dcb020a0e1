"""Studies: configurations × hyperparameters × seeds, launched through Hydra, recorded in a results store.

    python -m ganaudit.study study=demo                       # local, sequential
    python -m ganaudit.study study=demo hydra/launcher=joblib # parallel processes
    python -m ganaudit.study study=loss_slice_celebahq hydra/launcher=slurm hydra.launcher.partition=gpu

Modules: ``spec`` (study files -> runs), ``hparams`` (Table 1 grid, Table 2 random), ``bo`` (sequential
BO), ``store`` (results store), ``tasks`` (train / stand-in), ``runner`` (one job), ``launch`` (Hydra
launchers), ``driver`` (the loop), ``__main__`` (the Hydra entry point).
"""

from ganaudit.study.driver import StudyDriver
from ganaudit.study.spec import RunSpec, StudySpec
from ganaudit.study.store import ResultsStore

__all__ = ["ResultsStore", "RunSpec", "StudyDriver", "StudySpec"]
