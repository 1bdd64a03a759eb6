"""Summaries inside training frameworks; each module imports its framework when it is imported.

* `modelsummary.integrations.lightning`: a Lightning callback.
* `modelsummary.integrations.transformers`: a Hugging Face ``TrainerCallback``.
"""
