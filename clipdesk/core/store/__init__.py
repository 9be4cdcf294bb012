"""The catalog and everything kept on disk: the SQLite catalog, its files, locks, changes
between processes, edits, backups, settings and the vector index."""
