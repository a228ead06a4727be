"""The engine: training, evaluation and inference built from plugin components."""
