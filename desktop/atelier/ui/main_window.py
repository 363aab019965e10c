"""The main window: Sketch, Lyric and Palette panels as tabs, the Jobs dock, and the device status."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabWidget

from atelier.core.jobs import Job, JobQueue
from atelier.core.requests import DeviceInfo
from atelier.core.session_store import SessionStore
from atelier.core.settings import Settings, config_dir, save_settings
from atelier.ui.context import AppContext
from atelier.ui.dialogs.about_dialog import AboutDialog
from atelier.ui.dialogs.settings_dialog import SettingsDialog
from atelier.ui.errors import show_error
from atelier.ui.panels.base import Panel
from atelier.ui.panels.lyric import LyricPanel
from atelier.ui.panels.palette import PalettePanel
from atelier.ui.panels.sketch import SketchPanel
from atelier.ui.widgets.jobs_dock import JobsWidget
from atelier.ui.worker import JobRunner

AUTOSAVE_MS = 30_000
# Jobs whose origin is a widget inside a panel are recalled by that panel.
RECALL_PANEL_FOR_ORIGIN = {"melody": "lyric"}


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, session: SessionStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Atelier")
        self.resize(1200, 800)
        self.settings = settings
        self.queue = JobQueue()
        self.runner = JobRunner(self.queue, settings, self)
        self.context = AppContext(self.runner, self.queue, settings, session or SessionStore())

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
        self.jobs.recall_requested.connect(self._recall)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("jobs-dock")
        self.jobs_dock.setWidget(self.jobs)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.jobs_dock)

        self.device_label = QLabel()
        self.device_label.setObjectName("device-label")
        self.statusBar().addPermanentWidget(self.device_label)
        self.runner.device_changed.connect(self.show_device)
        self._show_planned_device()

        self._build_menus()
        self._restore()
        if self.context.session.problem:
            self.statusBar().showMessage(self.context.session.problem, 15000)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.save_session)
        self.autosave_timer.start()

    # -- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
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
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.context.settings = settings
        try:
            save_settings(settings)
        except OSError as exc:
            show_error(self, f"Settings could not be saved ({exc}); they apply until you quit.")
        self.runner.update_settings(settings)
        self._show_planned_device()

    def open_about(self) -> None:
        AboutDialog(self.runner.pack_summaries(), self).exec()

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

    def _recall(self, job: Job) -> None:
        origin = job.request.origin
        panel = self.panels.get(RECALL_PANEL_FOR_ORIGIN.get(origin, origin))
        recall = getattr(panel, "recall", None)
        if panel is None or recall is None:
            self.statusBar().showMessage("This job's panel cannot recall its settings.", 5000)
            return
        recall(job)
        self.tabs.setCurrentWidget(panel)

    # -- session and layout ------------------------------------------------------------------
    def _layout_store(self) -> QSettings:
        return QSettings(str(config_dir() / "layout.ini"), QSettings.Format.IniFormat)

    def _restore(self) -> None:
        store = self._layout_store()
        geometry = store.value("geometry")
        state = store.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(int(str(store.value("tab", 0))))
        for name, panel in self.panels.items():
            panel.restore_state(self.context.session.section(name))

    def save_session(self) -> None:
        for name, panel in self.panels.items():
            self.context.session.set_section(name, panel.save_state())
        try:
            self.context.session.save()
        except OSError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 10000)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.autosave_timer.stop()
        self.save_session()
        store = self._layout_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("state", self.saveState())
        store.setValue("tab", self.tabs.currentIndex())
        store.sync()
        self.runner.shutdown()
        self.jobs.close_widget()
        for panel in self.panels.values():
            panel.close_panel()
        super().closeEvent(event)
