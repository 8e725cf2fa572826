"""Synthetic fact data for fine-tuning (`mode=facts`): fact template → questions → answers → validation."""
