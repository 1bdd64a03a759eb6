"""Stage 2, the tree: records -> a tree of summary nodes with counts that are right.

Pure: nothing here imports torch or the tracer. The node types (`nodes`), the
counting rules that build them (`build`), the training estimate (`memory`),
pruning masks (`pruning`) and folded repeats for drawing (`repeats`).
"""
