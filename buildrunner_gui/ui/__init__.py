"""The desktop window: small widgets, one per file, each reading the session's store and its batches."""
