"""Full-text search: Chinese segmentation shared by every backend (``segment``) and the
embedded Whoosh backend (``whoosh_backend``).

Pure library code: no Flask and no database, so the worker and the CLI can use it too.
"""
