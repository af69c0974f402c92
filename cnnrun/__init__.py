"""cnnrun: a command-line experiment runner for convolutional neural networks."""

__version__ = "0.1.0"
