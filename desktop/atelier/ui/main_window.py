"""The main window: Sketch, Lyric and Palette panels as tabs, the Jobs and History dock, projects
(File menu), and the device status."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget

from atelier.core.errors import AtelierError
from atelier.core.history import HistoryEntry
from atelier.core.jobs import Job, JobQueue, JobState, ListenerFault
from atelier.core.project import Autosave, LockOutcome, LockOwner, Project, recent_projects, remember_project
from atelier.core.requests import DeviceInfo, Request, Result
from atelier.core.settings import Settings, config_dir, save_settings
from atelier.ui.context import AppContext, LicenceGate
from atelier.ui.dialogs.about_dialog import AboutDialog
from atelier.ui.dialogs.restore_dialog import RestoreDialog
from atelier.ui.dialogs.settings_dialog import SettingsDialog
from atelier.ui.errors import error_text, show_error
from atelier.ui.history_writer import HistoryWriter, PendingWrite
from atelier.ui.panels.base import Panel
from atelier.ui.panels.lyric import LyricPanel
from atelier.ui.panels.palette import PalettePanel
from atelier.ui.panels.sketch import SketchPanel
from atelier.ui.widgets.history_view import HistoryWidget
from atelier.ui.widgets.jobs_dock import JobsWidget
from atelier.ui.worker import JobRunner

AUTOSAVE_MS = 30_000
HISTORY_MAX_COUNT = 500
HISTORY_MAX_BYTES = 2 * 1024**3
# How long Quit waits for results still being written into the history before it asks whether to wait on.
HISTORY_QUIT_WAIT_S = 20.0
# A project switch waits this long for the old project's writes; later ones still land in the old project.
HISTORY_SWITCH_WAIT_S = 20.0

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(
        self, settings: Settings, session: Project | None = None, licence_gate: LicenceGate | None = None
    ) -> None:
        super().__init__()
        self.resize(1200, 800)
        self.settings = settings
        self.queue = JobQueue()
        self.runner = JobRunner(self.queue, settings, self)
        session = session or Project.untitled()
        # Taken before the panels read the project: one opened read-only (another Atelier has it) gives
        # them copies to write to, so nothing of the other window's work is overwritten.
        lock = session.lock()
        # The gate asks before a pack's first use (the app passes one; tests that build windows do not).
        self.context = AppContext(self.runner, self.queue, settings, session, licence_gate=licence_gate)
        self.restore_dialog: RestoreDialog | None = None
        self._save_failed = False  # the first failure of a run of failed autosaves gets a box, the rest a line

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.panels: dict[str, Panel] = {}
        for panel_type in (SketchPanel, LyricPanel, PalettePanel):
            panel = panel_type(self.context)
            self.panels[panel.title.lower()] = panel
            self.tabs.addTab(panel, panel.title)
        self.setCentralWidget(self.tabs)
        sketch = self.panels["sketch"]
        if isinstance(sketch, SketchPanel):
            self.context.sketch_picture = sketch.current_image

        self.jobs = JobsWidget(self.queue)
        self.jobs.cancel_requested.connect(self.runner.cancel)
        self.jobs.recall_requested.connect(lambda job: self.recall(job.request))
        self.history = HistoryWidget()
        self.history.put_back_requested.connect(self.put_back)
        self.history.recall_requested.connect(self._recall_entry)
        # Results are written into the history on a thread of its own: a batch of big images is seconds
        # of PNG encoding and fsync that the window would otherwise freeze for.
        self.history_writer = HistoryWriter(HISTORY_MAX_COUNT, HISTORY_MAX_BYTES, self)
        self.history_writer.pending_changed.connect(self._show_pending_writes)
        self.history_writer.failed.connect(self._report_history_failure)
        self.history_quit_wait_s = HISTORY_QUIT_WAIT_S
        self.dock_tabs = QTabWidget()
        self.dock_tabs.setDocumentMode(True)
        self.dock_tabs.addTab(self.jobs, "Jobs")
        self.dock_tabs.addTab(self.history, "History")
        self.jobs_dock = QDockWidget("Jobs and history", self)
        self.jobs_dock.setObjectName("jobs-dock")
        self.jobs_dock.setWidget(self.dock_tabs)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.jobs_dock)
        # A result belongs to the project that was open when its job was sent, not to whichever is
        # open when it ends (a long render can finish after the artist switched projects).
        self._project_of_job: dict[int, Project] = {}
        self.queue.job_added.connect(self._note_project)
        self.queue.job_changed.connect(self._record_in_history)
        # A panel's handler that raises is logged by the queue, which goes on; the artist is told once.
        self._listener_fault_shown = False
        self.queue.listener_failed.connect(self._show_listener_fault)

        self.device_label = QLabel()
        self.device_label.setObjectName("device-label")
        self.statusBar().addPermanentWidget(self.device_label)
        self.runner.device_changed.connect(self.show_device)
        self._show_planned_device()
        self.server_label = QLabel()
        self.server_label.setObjectName("server-label")
        self.server_label.setVisible(False)
        self.statusBar().addPermanentWidget(self.server_label)
        self.runner.server_status.connect(self.show_server_status)

        self._build_menus()
        self._restore()
        self._show_project()
        if self.context.session.problem:
            self.statusBar().showMessage(self.context.session.problem, 15000)
        self._after_lock(lock)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.save_session)
        self.autosave_timer.start()

    # -- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("&New Project…", QKeySequence.StandardKey.New, self.new_project_dialog),
            ("&Open Project…", QKeySequence.StandardKey.Open, self.open_project_dialog),
            ("&Save Project", QKeySequence.StandardKey.Save, self.save_project),
            ("Save Project &As…", QKeySequence.StandardKey.SaveAs, self.save_project_as_dialog),
        ):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        settings_action = QAction("&Settings…", self)
        settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        settings_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        settings_action.triggered.connect(self.open_settings)
        file_menu.addAction(settings_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.jobs_dock.toggleViewAction())
        for index, panel in enumerate(self.panels.values()):
            action = QAction(panel.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Atelier", self)
        about.triggered.connect(self.open_about)
        help_menu.addAction(about)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self, self.runner.available_providers())
        if dialog.exec() and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.context.settings = settings
        try:
            save_settings(settings)
        except OSError as exc:
            show_error(self, f"Settings could not be saved ({exc}); they apply until you quit.")
        self.server_label.setVisible(False)
        self.runner.update_settings(settings)
        self._show_planned_device()

    def open_about(self) -> None:
        AboutDialog(self.runner.pack_summaries(), self, self.runner.broken_packs()).exec()

    # -- device status -----------------------------------------------------------------------
    def _show_planned_device(self) -> None:
        self.show_device(self.runner.planned_device(), planned=True)

    def show_device(self, device: DeviceInfo, planned: bool = False) -> None:
        prefix = "Device (not used yet): " if planned else "Device: "
        text = prefix + device.label
        if device.fell_back:
            text += " ⚠ fell back"
        self.device_label.setText(text)
        self.device_label.setToolTip(device.describe())
        if device.fell_back and not planned:
            self.statusBar().showMessage(device.describe(), 20000)

    def show_server_status(self, status: object) -> None:
        """The render server in Settings: where heavy jobs run there, or why they run here."""
        if isinstance(status, DeviceInfo):
            # The device label beside it shows the server's device; this one names the machine.
            self.server_label.setText(f"Render server: {getattr(status, 'host', '') or 'connected'}")
            self.server_label.setToolTip(
                f"Heavy jobs (images, lyrics, melodies) run on the render server: {status.describe()}"
            )
            self.server_label.setVisible(True)
            self.show_device(status, planned=True)
            return
        text = str(status)
        self.server_label.setVisible(bool(text))
        self.server_label.setText("Render server: not used ⚠")
        self.server_label.setToolTip(text)
        if text:
            self.statusBar().showMessage(text, 30000)

    # -- recall, history -----------------------------------------------------------------------
    def recall(self, request: Request) -> bool:
        """Put a request's settings back into the panel that owns its kind (one undo step there)."""
        for panel in self.panels.values():
            if panel.recall(request):
                self.tabs.setCurrentWidget(panel)
                return True
        self.statusBar().showMessage(f"No panel can recall the settings of a {request.kind} job.", 5000)
        return False

    def show_result(self, request: Request, result: Result) -> bool:
        for panel in self.panels.values():
            if panel.show_result(request, result):
                self.tabs.setCurrentWidget(panel)
                return True
        self.statusBar().showMessage(f"No panel can show a {request.kind} result.", 5000)
        return False

    def _note_project(self, job: Job) -> None:
        if job.request.in_history:
            self._project_of_job[job.id] = self.context.session

    def _record_in_history(self, job: Job) -> None:
        """Store every finished job's result in its project, so it outlives the session."""
        if not job.state.done:
            return
        project = self._project_of_job.pop(job.id, None)
        if job.state is not JobState.FINISHED or job.result is None or project is None:
            return
        self.history_writer.add(
            project, job.request, job.result, created=job.created, seconds=job.seconds or 0.0, number=job.number
        )

    def _show_listener_fault(self, fault: ListenerFault) -> None:
        text = fault.message()
        self.statusBar().showMessage(text, 30000)
        if not self._listener_fault_shown:  # one box per run, not one per event
            self._listener_fault_shown = True
            show_error(self, text)

    def _show_pending_writes(self) -> None:
        """The current project's results still being written, as "saving…" rows in the History tab."""
        self.history.set_pending(
            [(p.number, p.kind, p.summary) for p in self.history_writer.pending(self.context.session)]
        )

    def _report_history_failure(self, pending: PendingWrite, error: Exception, first: bool) -> None:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error_text(error)
        number = f"#{pending.number} " if pending.number else ""
        text = (
            f"Result {number}({pending.kind}) could not be kept in the history of {pending.project.name} ({reason}). "
            "It is still in its panel and in the Jobs tab: export it from there to keep it. Free some disk space "
            "or make the project folder writable; the next results are written as usual."
        )
        self.statusBar().showMessage(text, 30000)
        if first:  # one box per run of failures, not one per result
            show_error(self, text)

    def _finish_history_writes(self, before: str, timeout: float) -> bool:
        """Wait (at most `timeout` s, saying so in the status bar) for the results still being written."""
        count = len(self.history_writer.pending())
        if not count:
            return True
        results = "result" if count == 1 else "results"
        self.statusBar().showMessage(f"Keeping {count} {results} in the history before {before}…")
        self.statusBar().repaint()  # the wait blocks the event loop: paint the line now
        started = time.monotonic()
        done = self.history_writer.wait(timeout=timeout)
        log.info(
            "Waited %.2f s for %d history writes before %s (all done: %s)",
            time.monotonic() - started,
            count,
            before,
            done,
        )
        return done

    def _load_entry(self, entry: HistoryEntry) -> tuple[Request, Result] | None:
        history = self.context.session.history
        try:
            return history.load_request(entry), history.load_result(entry)
        except (OSError, ValueError, AtelierError) as exc:
            show_error(self, f"This history entry cannot be read ({exc}). Delete it, or keep it for its files.")
            return None

    def put_back(self, entry: HistoryEntry) -> None:
        loaded = self._load_entry(entry)
        if loaded is not None:
            self.show_result(*loaded)

    def _recall_entry(self, entry: HistoryEntry) -> None:
        loaded = self._load_entry(entry)
        if loaded is not None:
            self.recall(loaded[0])

    # -- projects ------------------------------------------------------------------------------
    def _show_project(self) -> None:
        project = self.context.session
        where = "" if project.untitled else f" ({project.folder})"
        read_only = " [read-only]" if project.read_only else ""
        self.setWindowTitle(f"{project.name}{where}{read_only} — Atelier")
        self.history.set_history(project.history)
        self._show_pending_writes()
        self.queue.continue_numbers_after(max((e.number for e in project.history.entries()), default=0))

    def _switch_to(self, project: Project) -> None:
        """Make `project` current: the old one is saved first, so switching never loses work."""
        old = self.context.session
        if not self._finish_history_writes(f"opening {project.name}", HISTORY_SWITCH_WAIT_S):
            self.statusBar().showMessage(f"Results are still being written into the history of {old.name}.", 15000)
        self.save_session()
        lock = self._take_over(project)
        for name, panel in self.panels.items():
            panel.restore_state(project.section(name))
        self._show_project()
        if not project.untitled:
            remember_project(project.folder)
        if project.problem:
            self.statusBar().showMessage(project.problem, 15000)
        self._after_lock(lock)

    def _take_over(self, project: Project) -> LockOutcome:
        """Hand the lock from the current project to `project` (given back first: it may be the same folder)."""
        self.context.session.unlock()
        lock = project.lock()
        self.context.session = project
        self._save_failed = False
        return lock

    def _after_lock(self, lock: LockOutcome) -> None:
        """Say that the project is in use elsewhere, or offer the newest autosave after a crash."""
        project = self.context.session
        if lock.in_use_by is not None:
            show_error(
                self,
                f"{project.name} is open in another Atelier ({lock.in_use_by.describe()}). It is open here "
                "read-only: your changes are not saved into it. Use File → Save Project As to keep them "
                "in another folder, or close the other Atelier first.",
            )
        elif lock.crashed is not None:
            autosave = project.newest_good_autosave()
            if autosave is None:
                self.statusBar().showMessage("Atelier did not close properly last time; there was no autosave yet.")
            elif project.matches(autosave):
                self.statusBar().showMessage(
                    "Atelier did not close properly last time; nothing was lost: what is open is the "
                    f"autosave of {autosave.describe()}.",
                    20000,
                )
            else:
                self._offer_restore(lock.crashed, autosave)

    def _offer_restore(self, crashed: LockOwner, autosave: Autosave) -> None:
        dialog = RestoreDialog(self.context.session.name, crashed, autosave, self)
        project = self.context.session
        # The answer applies to the project it was asked about, even if another was opened meanwhile.
        dialog.accepted.connect(lambda: self.restore_autosave(autosave) if self.context.session is project else None)
        self.restore_dialog = dialog
        dialog.open()

    def restore_autosave(self, autosave: Autosave) -> bool:
        """Put an autosave back into the project and the panels (what was open is set aside first)."""
        project = self.context.session
        try:
            aside = project.restore_autosave(autosave)
        except (OSError, AtelierError) as exc:
            show_error(
                self, f"The autosave of {autosave.describe()} could not be restored ({exc}). Nothing was changed."
            )
            return False
        for name, panel in self.panels.items():
            panel.restore_state(project.section(name))
        self.statusBar().showMessage(
            f"Restored the autosave of {autosave.describe()}; what was open before is kept in {aside}.", 20000
        )
        return True

    def _choose_folder(self, title: str, then: Callable[[Path], bool]) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, str(Path.home()))
        if folder:
            then(Path(folder))

    def new_project_dialog(self) -> None:
        self._choose_folder("New project: choose an empty folder", self.new_project)

    def new_project(self, folder: Path) -> bool:
        if not self._switch_to_made(lambda: Project.create(folder)):
            return False
        self.save_session()
        return True

    def open_project_dialog(self) -> None:
        self._choose_folder("Open project folder", self.open_project)

    def open_project(self, folder: Path) -> bool:
        return self._switch_to_made(lambda: Project.open(folder))

    def _switch_to_made(self, make: Callable[[], Project]) -> bool:
        """Switch to the project `make` creates or opens; a folder it refuses is said and changes nothing."""
        try:
            project = make()
        except (OSError, AtelierError) as exc:
            show_error(self, exc)
            return False
        self._switch_to(project)
        return True

    def save_project(self) -> None:
        if self.context.session.untitled:
            self.save_project_as_dialog()
            return
        self.save_session()
        self.statusBar().showMessage(f"Saved {self.context.session.folder}", 5000)

    def save_project_as_dialog(self) -> None:
        self._choose_folder("Save project as: choose an empty folder", self.save_project_as)

    def save_project_as(self, folder: Path) -> bool:
        self.save_session()
        # The copy takes the history as it is on disk: results still being written are waited for.
        self._finish_history_writes("saving a copy", HISTORY_SWITCH_WAIT_S)
        try:
            project = self.context.session.save_as(folder)
        except (OSError, AtelierError) as exc:
            show_error(self, exc)
            return False
        lock = self._take_over(project)
        self._show_project()
        remember_project(project.folder)
        self.statusBar().showMessage(f"Saved as {project.folder}", 5000)
        self._after_lock(lock)
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = recent_projects()
        for folder in recent:
            action = self.recent_menu.addAction(str(folder))
            action.triggered.connect(lambda _checked=False, f=folder: self.open_project(f))
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # -- session and layout ------------------------------------------------------------------
    def _layout_store(self) -> QSettings:
        return QSettings(str(config_dir() / "layout.ini"), QSettings.Format.IniFormat)

    def _restore(self) -> None:
        store = self._layout_store()
        geometry = store.value("geometry")
        state = store.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._fit_first_size()
        if state is not None:
            self.restoreState(state)
        with contextlib.suppress(ValueError):  # a hand-edited layout.ini keeps the first tab
            self.tabs.setCurrentIndex(int(str(store.value("tab", 0))))
        for name, panel in self.panels.items():
            panel.restore_state(self.context.session.section(name))

    def _fit_first_size(self) -> None:
        """The first start's size: 1200x800, within the screen's free area (a 1366x768 laptop has about
        1366x740 of it), never below the window's own minimum."""
        screen = self.screen()
        if screen is None:
            return
        room = screen.availableGeometry()
        least = self.minimumSizeHint()
        width = max(least.width(), min(1200, room.width()))
        height = max(least.height(), min(800, room.height() - 30))  # 30: the title bar a window manager adds
        self.resize(width, height)
        self.move(room.x() + max(0, (room.width() - width) // 2), room.y())

    def save_session(self) -> bool:
        """Save the panels into the project (the autosave); False when nothing could be written."""
        project = self.context.session
        for name, panel in self.panels.items():
            project.set_section(name, panel.save_state())  # kept in memory for Save As, even read-only
        if project.read_only:
            return False  # said when it was opened; writing would overwrite what it protects
        try:
            project.save()
        except (OSError, AtelierError) as exc:
            self._report_save_failure(project, exc)
            return False
        self._save_failed = False
        return True

    def _report_save_failure(self, project: Project, exc: Exception) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        autosave = project.newest_good_autosave()
        kept = (
            f"The last good autosave ({autosave.describe()}) is kept" if autosave else "The files saved before are kept"
        )
        text = (
            f"Atelier could not save {project.name} ({reason}). {kept}, unchanged. Free some disk space, "
            "or use File → Save Project As to keep your work in another folder."
        )
        self.statusBar().showMessage(text, 30000)
        if not self._save_failed:  # one box per run of failures, not one every autosave
            self._save_failed = True
            show_error(self, text)

    def _close_history_writer(self) -> None:
        """Quit waits for the history writes, in rounds of `history_quit_wait_s`; after each it asks."""
        while not self._finish_history_writes("closing", self.history_quit_wait_s):
            count = len(self.history_writer.pending())
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Atelier",
                f"{count} {'result is' if count == 1 else 'results are'} still being written into the history "
                f"after {self.history_quit_wait_s:g} s (is the disk slow or full?). Quit now and they are not kept.",
                parent=self,
            )
            box.setObjectName("history-quit-wait")
            wait = box.addButton("Wait Longer", QMessageBox.ButtonRole.AcceptRole)
            box.addButton("Quit Without Them", QMessageBox.ButtonRole.DestructiveRole)
            box.setDefaultButton(wait)
            box.exec()
            if box.clickedButton() is not wait:
                break
        left = self.history_writer.close(timeout=0)
        if left:
            log.warning("Quit with %d results not written into the history: %s", len(left), [p.number for p in left])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.autosave_timer.stop()
        self.save_session()
        store = self._layout_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("state", self.saveState())
        store.setValue("tab", self.tabs.currentIndex())
        store.sync()
        self.runner.shutdown()  # its last events may queue more results for the history
        self._close_history_writer()
        self.context.session.unlock()  # closed properly: the next start finds no crash
        self.queue.job_added.disconnect(self._note_project)
        self.queue.job_changed.disconnect(self._record_in_history)
        self.queue.listener_failed.disconnect(self._show_listener_fault)
        self.jobs.close_widget()
        self.history.close_widget()
        for panel in self.panels.values():
            panel.close_panel()
        super().closeEvent(event)
