"""XMP sidecars: the format, the untrusted files, and syncing with the catalog."""
