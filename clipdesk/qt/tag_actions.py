"""Tags: renaming and removing them, the vocabulary, and teaching a tag by example
(select photos, name the tag, then accept or reject the suggestions)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.types import Hit, SidecarSummary
from clipdesk.qt.background import StatusLabel
from clipdesk.qt.selection import Selection
from clipdesk.qt.tags_ui import TagSidebar, TeachBar, VocabularyDialog
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.views import RESULTS, Views
from clipdesk.qt.worker import Jobs
from clipdesk.wording import plural


class TagActions:
    def __init__(self, library: Library, jobs: Jobs, state: ViewState, views: Views,
                 selection: Selection, bars: tuple[TagSidebar, TeachBar],
                 status: StatusLabel, parent: QWidget,
                 report: Callable[[ClipdeskError], None]) -> None:
        self.library, self.jobs, self.state, self.views = library, jobs, state, views
        self.selection = selection
        self.tags, self.teach_bar = bars
        self.status, self.parent, self.report = status, parent, report
        self.teaching: str | None = None  # the tag being taught
        self.vocabulary_dialog: VocabularyDialog | None = None
        views.showing.connect(lambda mode: self.stop_teaching() if mode != "teach" else None)
        views.shown.connect(lambda mode, hits: self.show_suggestions(hits)
                            if mode == "teach" else None)

    # The tag filter follows a renamed or removed tag quietly: the retag reloads when done.

    def rename_tag(self, tag: str) -> None:
        new, ok = QInputDialog.getText(self.parent, "Rename tag", f"New name for “{tag}”:",
                                       text=tag)
        if ok and new.strip() and new.strip().lower() != tag:
            self._retag(lambda: self.library.tags.rename(tag, new))
            if self.state.tag_filter == tag:
                self.state.update(quiet=True, tag_filter=" ".join(new.split()).lower())

    def remove_tag(self, tag: str) -> None:
        answer = QMessageBox.question(
            self.parent, "Remove tag", f"Take “{tag}” off every photo and out of the "
            "vocabulary? The photos themselves are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            if self.state.tag_filter == tag:
                self.state.update(quiet=True, tag_filter=None)
            self._retag(lambda: self.library.tags.remove(tag))

    def edit_vocabulary(self) -> None:
        dialog = VocabularyDialog(self.library.tags.vocabulary_text(), self.parent)
        dialog.accepted.connect(lambda: self._retag(
            lambda: self.library.tags.save_vocabulary(dialog.text())))
        dialog.show()
        self.vocabulary_dialog = dialog

    def rejudge(self) -> None:
        """Judge every photo's automatic tags again (photos added since the last whole
        judgement were judged against the thresholds of then; `clipdesk tags --rejudge`)."""
        self._retag(lambda: None)

    def _retag(self, change: Callable[[], None]) -> None:
        """Apply a vocabulary change, then re-judge the automatic tags (writer thread)."""
        self.status.setText("Updating tags…")

        def retag() -> None:
            change()
            self.library.tags.retag()

        def done(_: object) -> None:
            self.status.setText("Tags updated.")
            self.views.refresh_library()
        self.jobs.write(retag, done=done, failed=self.report)

    # -- XMP sidecars (digiKam, darktable, Lightroom read them) -------------------------

    def write_sidecars(self) -> None:
        answer = QMessageBox.question(
            self.parent, "XMP sidecars",
            "Write your tags, captions and rejects next to each photo as NAME.EXT.xmp, "
            "where digiKam, darktable and Lightroom read them?\n\nA sidecar that is there "
            "already is merged (what other programs wrote in it stays). Automatic tags "
            "are not written. The photos themselves are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self._sidecars(lambda: self.library.write_sidecars())

    def keep_sidecars(self, on: bool) -> None:
        """From now on a person's edits go to the sidecars at once (all written now)."""
        self._sidecars(lambda: self.library.keep_sidecars(on))

    def _sidecars(self, write: Callable[[], SidecarSummary]) -> None:
        self.status.setText("Writing XMP sidecars…")
        self.jobs.write(write, done=self._sidecars_written, failed=self.report)

    def _sidecars_written(self, summary: SidecarSummary) -> None:
        left = f", {len(summary.left_alone):,} left alone" if summary.left_alone else ""
        self.status.setText(f"{plural(summary.written, 'XMP sidecar')} written, "
                              f"{summary.unchanged:,} already up to date{left}.")
        said = [p.reason for p in summary.failed + summary.left_alone]  # each names its file
        if len(said) == 1:
            self.report(ClipdeskError(said[0]))
        elif said:  # the box shows the first line; the list is in its details
            self.report(ClipdeskError(
                f"{plural(len(said), 'sidecar')} not written (the others were): see the "
                "details.\n" + "\n".join(said)))

    # -- teaching a tag ------------------------------------------------------------------

    def teach_dialog(self) -> None:
        ids = self.selection.selected_ids()
        if not ids:
            self.report(ClipdeskError("Select one or more photos that show the tag first."))
            return
        known = sorted(set(self.library.tags.taught()) | set(self.tags.tags()))
        tag, ok = QInputDialog.getItem(
            self.parent, "Teach a tag", f"What do the {plural(len(ids), 'selected photo')} "
            "show? clipdesk then suggests other photos that show it.", known, editable=True)
        tag = " ".join(tag.split()).lower()
        if ok and tag:
            self.teaching = tag
            self.teach(tag, ids, [])

    def answer(self, yes: bool) -> None:
        ids = self.selection.selected_ids()
        if self.teaching and ids:
            self.teach(self.teaching, ids if yes else [], [] if yes else ids)

    def teach(self, tag: str, yes: list[int], no: list[int]) -> None:
        """Record the answers, retrain (well under a second), show the new suggestions."""
        self.jobs.write(lambda: self.library.tags.teach(tag, yes, no),
                        done=lambda _: self.views.query(
                            "teach", f"Photos that might show “{tag}”",
                            lambda: self.library.tags.suggest(tag, RESULTS)),
                        failed=self.report)

    def show_suggestions(self, hits: list[Hit]) -> None:
        if self.teaching is not None:
            self.teach_bar.show_tag(self.teaching, len(hits),
                                           sum(h.relevant for h in hits))

    def stop_teaching(self) -> None:
        self.teaching = None
        self.teach_bar.hide()

    def teaching_done(self) -> None:
        """Finished: the library, showing the photos that now have the tag."""
        tag = self.teaching
        self.stop_teaching()
        self.state.update(quiet=True, tag_filter=tag)  # whatever the search field says
        self.views.show_library()
