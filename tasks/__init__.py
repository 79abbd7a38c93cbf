"""The shared task core: what every task folder (glue/, squad/) uses around the two backends: HF Trainer and
PaddleNLP Trainer on the same numpy batches, HF-style arguments, logs and plots, tokenizers, layer-wise decay, spans."""
