"""Around the runner: the sweep summary callback, the merges, the payload handler, command-line helpers."""
