"""Stage 3, presentation: a summary tree -> what a reader sees.

Pure: nothing here imports torch or the tracer. Presentation data and text tables
(`render`), counts and bytes as text (`units`), Markdown (`markdown`), HTML
(`html`), JSON, CSV and DataFrames (`export`), plots (`plot`, `figure`) and layer
selection (`select`).
"""
