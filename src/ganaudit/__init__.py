"""ganaudit: a reproducibility audit harness for the GAN Landscape study (Kurach et al., ICML 2019)."""

__version__ = "0.1.0"
