"""Errors a person can act on: each message says what happened and what to do."""


class ClipdeskError(Exception):
    """Base class for errors shown to the user as one line (no traceback)."""


class ModelLoadError(ClipdeskError):
    """The embedding model could not be found, downloaded or loaded."""


class RootError(ClipdeskError):
    """A folder to index does not exist or cannot be read."""


class CatalogError(ClipdeskError):
    """The catalog is unusable (for example, written by a newer clipdesk)."""


class DiskFullError(ClipdeskError):
    """The disk holding the library's data is full: the run stops, what is committed stays."""

    def __init__(self, folder: object) -> None:
        super().__init__(f"the disk holding {folder} is full: free some space and run "
                         "again (everything saved so far is kept)")


class LibraryBusyError(ClipdeskError):
    """Another clipdesk process is indexing this library."""


class DecodeError(Exception):
    """One file could not be read as a photo. Recorded per file; never stops a run."""

    def __init__(self, reason: str, *, skipped: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # skipped: not a photo at all (a text file, a video); otherwise a broken photo.
        self.skipped = skipped


class LostCatalogError(CatalogError):
    """The catalog is missing or empty while backups of it exist: restore, or start anew."""
