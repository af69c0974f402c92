"""Export a run's best model: TF SavedModel, TFLite (LiteRT), ONNX."""
