"""Stage 3, presentation: a summary tree -> what a reader sees.

Pure: nothing here imports torch or the tracer. Text tables (`render`), counts and
bytes as text (`units`), HTML (`html`), JSON, CSV, Markdown and DataFrames
(`export`), plots (`plot`, `figure`) and layer selection (`select`).
"""
