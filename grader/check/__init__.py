"""Phase 2, trusted: the pytest plugin and its session, the Keras-aware checks, and the
reader of the artifacts phase 1 left."""
