"""What every layer shares: errors, stable ids, secret redaction, JSONL files, text normalisation, paths, one-line
command-line errors."""
