"""Summaries inside training frameworks; each module imports its framework when it is imported.

* :mod:`modelsummary.integrations.lightning`: a Lightning callback.
* :mod:`modelsummary.integrations.transformers`: a Hugging Face ``TrainerCallback``.
"""
