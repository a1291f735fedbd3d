"""daml: deep adversarial metric learning on images, from the command line."""

__version__ = "0.1.0"
