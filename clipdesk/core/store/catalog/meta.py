"""Small named values kept with the photos (the model in use, the tagging and grouping
marks, the settings of settings.py): the meta table."""
from __future__ import annotations

from clipdesk.core.store.catalog.connection import Part


class Meta(Part):
    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        """Set `key` (None deletes it), in the caller's transaction if there is one."""
        self._connection.assert_writer()
        if not self._db.in_transaction:
            with self._transaction():
                self.set(key, value)
        elif value is None:
            self._db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))
