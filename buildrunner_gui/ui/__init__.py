"""The desktop window: small widgets, one per file, each fed by the engine's message stream."""
