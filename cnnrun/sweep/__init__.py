"""Sweeps (plan, backends, the command) and smoke runs of many configs."""
