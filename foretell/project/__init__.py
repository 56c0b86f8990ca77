"""A project folder: one instrument's logs, datasets, models and config in one place."""
