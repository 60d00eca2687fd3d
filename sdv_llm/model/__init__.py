"""The language model: backbone construction and the training loop."""
