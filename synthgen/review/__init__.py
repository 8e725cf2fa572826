"""The review app: a person accepts, rejects or edits a run's items in the browser (`python -m synthgen.review`)."""
