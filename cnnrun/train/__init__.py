"""Training: the run folder, the input pipeline, callbacks, and the orchestrator."""
