"""Pictures: training curves, comparison plots, predictions and data samples."""
