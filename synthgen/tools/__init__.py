"""Around the runner: the sweep summary callback, the merges and the payload handler."""
