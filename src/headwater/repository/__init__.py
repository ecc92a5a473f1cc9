"""Repositories: FlowFile, content and provenance, SQLite and claim files on disk."""
