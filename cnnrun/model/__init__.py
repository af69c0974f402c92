"""Building Keras models from the experiment file, and describing them."""
