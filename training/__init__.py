"""The study: corpus, tokenizers, training, evaluation, scaling fits and the report.

Installed as `pycodesmall.training`; its command is `pycodesmall-train`.
"""
