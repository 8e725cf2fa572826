"""One job: the runner, the shared unit runner, stats, shards and the dry-run table."""
