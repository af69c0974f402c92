"""Reading finished runs (records, config diffs, compare, show). Imports no TensorFlow."""
