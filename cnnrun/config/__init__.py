"""YAML to a typed Experiment: schema, YAML reading, extends and --set. Knows no models or data."""
