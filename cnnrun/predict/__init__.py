"""Evaluating a finished run and predicting new images with its best model."""
