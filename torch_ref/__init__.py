"""PyTorch references. Funnel: transformers' own classes, unchanged."""
