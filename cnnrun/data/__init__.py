"""Data sets: finding files locally, loading them as arrays, and feeding them to Keras."""
