"""A painting canvas: pressure-sensitive brush, eraser and fill on layers, region-based undo, zoom and pan.

Layers: `sketch` (what the user draws, on white paper), `hints` (colour scribbles for the colorizer,
transparent) and `result` (a generated image shown over the sketch at an adjustable opacity).
A stroke is painted into a scratch buffer and merged when the pen lifts, so undo only has to keep
the stroke's bounding rectangle before and after (memory bounded by `undo_budget_bytes`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTabletEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from atelier.ui.widgets.images import array_from_qimage, qimage_from_array

LAYERS = ("sketch", "hints")
TOOLS = ("brush", "eraser", "fill")
_FORMAT = QImage.Format.Format_ARGB32_Premultiplied


@dataclass
class UndoStep:
    layer: str
    rect: QRect
    before: QImage
    after: QImage

    def nbytes(self) -> int:
        return int(self.before.sizeInBytes() + self.after.sizeInBytes())


class UndoStack:
    """Region snapshots with a memory cap: the oldest steps are dropped, never the canvas' speed."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self.done: deque[UndoStep] = deque()
        self.undone: list[UndoStep] = []

    def push(self, step: UndoStep) -> None:
        self.done.append(step)
        self.undone.clear()
        while len(self.done) > 1 and self.nbytes() > self.budget_bytes:
            self.done.popleft()

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self.done) + sum(s.nbytes() for s in self.undone)


def _blank(width: int, height: int, colour: QColor) -> QImage:
    image = QImage(width, height, _FORMAT)
    image.fill(colour)
    return image


class CanvasWidget(QWidget):
    stroke_finished = Signal()  # any change to the sketch or hints (live mode listens)
    result_changed = Signal()
    image_dropped = Signal(str)  # a file dropped on the canvas (the panel imports it)

    def __init__(self, width: int = 512, height: int = 512, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setAcceptDrops(True)
        self.setMouseTracking(False)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, True)
        self.tool = "brush"
        self.active_layer = "sketch"
        self.colour = QColor("#1b2a41")
        self.brush_size = 8.0
        self.opacity = 1.0
        self.hardness = 0.8
        self.pressure_size = True
        self.pressure_opacity = False
        self.result_opacity = 1.0
        self.hints_visible = True
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self.undo_stack = UndoStack(64 * 1024 * 1024)
        self.result: QImage | None = None
        self._stroke: np.ndarray | None = None
        self._stroke_rect = QRect()
        self._last: tuple[QPointF, float] | None = None
        self._pan_from: QPointF | None = None
        self._tablet_down = False
        self._fitted = False
        self.layers: dict[str, QImage] = {}
        self.new_canvas(width, height)

    # -- document --------------------------------------------------------------------------------
    @property
    def canvas_size(self) -> tuple[int, int]:
        image = self.layers["sketch"]
        return image.width(), image.height()

    def new_canvas(self, width: int, height: int) -> None:
        self.layers = {
            "sketch": _blank(width, height, QColor("white")),
            "hints": _blank(width, height, QColor(0, 0, 0, 0)),
        }
        self.result = None
        self.undo_stack = UndoStack(self.undo_stack.budget_bytes)
        self._fitted = False
        self.update()

    def layer_array(self, layer: str = "sketch") -> np.ndarray:
        return array_from_qimage(self.layers[layer])

    def sketch_array(self) -> np.ndarray:
        """The sketch as RGBA uint8 (opaque: it lies on white paper)."""
        return self.layer_array("sketch")

    def hints_array(self) -> np.ndarray | None:
        """The hints layer as RGBA, or None when nothing was scribbled on it."""
        array = self.layer_array("hints")
        return array if array[:, :, 3].any() else None

    def set_sketch(self, array: np.ndarray, undoable: bool = True) -> None:
        """Replace the sketch (import, paste, accept); a different size starts a new canvas."""
        image = qimage_from_array(array).convertToFormat(_FORMAT)
        if (image.width(), image.height()) != self.canvas_size:
            self.new_canvas(image.width(), image.height())
            undoable = False
        paper = _blank(image.width(), image.height(), QColor("white"))
        painter = QPainter(paper)
        painter.drawImage(0, 0, image)
        painter.end()
        self._replace_region("sketch", paper.rect(), paper, undoable)

    def set_result(self, array: np.ndarray | None) -> None:
        if array is None:
            self.result = None
        else:
            image = qimage_from_array(array).convertToFormat(_FORMAT)
            width, height = self.canvas_size
            if (image.width(), image.height()) != (width, height):
                image = image.scaled(
                    width,
                    height,
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            self.result = image
        self.result_changed.emit()
        self.update()

    def accept_result(self) -> None:
        """Merge the result (at its shown opacity) into the sketch, undoably."""
        if self.result is None:
            return
        merged = self.layers["sketch"].copy()
        painter = QPainter(merged)
        painter.setOpacity(self.result_opacity)
        painter.drawImage(0, 0, self.result)
        painter.end()
        self.result = None
        self._replace_region("sketch", merged.rect(), merged, True)
        self.result_changed.emit()

    def clear(self, layer: str | None = None) -> None:
        layer = layer or self.active_layer
        colour = QColor("white") if layer == "sketch" else QColor(0, 0, 0, 0)
        image = self.layers[layer]
        self._replace_region(layer, image.rect(), _blank(image.width(), image.height(), colour), True)

    def _replace_region(self, layer: str, rect: QRect, new: QImage, undoable: bool) -> None:
        """Put `new` (the size of `rect`) into `layer` at `rect`, recording the old pixels for undo."""
        target = self.layers[layer]
        if undoable:
            self.undo_stack.push(UndoStep(layer, QRect(rect), target.copy(rect), new.copy()))
        self._blit(layer, rect, new)
        self.stroke_finished.emit()

    def _blit(self, layer: str, rect: QRect, pixels: QImage) -> None:
        painter = QPainter(self.layers[layer])
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), pixels)
        painter.end()
        self.update()

    def undo(self) -> bool:
        if not self.undo_stack.done:
            return False
        step = self.undo_stack.done.pop()
        self.undo_stack.undone.append(step)
        self._blit(step.layer, step.rect, step.before)
        self.stroke_finished.emit()
        return True

    def redo(self) -> bool:
        if not self.undo_stack.undone:
            return False
        step = self.undo_stack.undone.pop()
        self.undo_stack.done.append(step)
        self._blit(step.layer, step.rect, step.after)
        self.stroke_finished.emit()
        return True

    # -- view ------------------------------------------------------------------------------------
    def fit(self) -> None:
        width, height = self.canvas_size
        self.zoom = max(0.05, min(self.width() / width, self.height() / height) * 0.95)
        self.offset = QPointF((self.width() - width * self.zoom) / 2, (self.height() - height * self.zoom) / 2)
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        anchor = anchor or QPointF(self.width() / 2, self.height() / 2)
        before = self.to_canvas(anchor)
        self.zoom = max(0.05, min(32.0, self.zoom * factor))
        self.offset = anchor - before * self.zoom
        self.update()

    def to_canvas(self, point: QPointF) -> QPointF:
        return (point - self.offset) / self.zoom

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._fitted:
            self.fit()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._fitted and self.width() > 0:
            self._fitted = True
            self.fit()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#3a3a3a"))
        painter.translate(self.offset)
        painter.scale(self.zoom, self.zoom)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1)
        painter.drawImage(0, 0, self.layers["sketch"])
        if self._stroke is not None and self.active_layer == "sketch":
            self._draw_stroke(painter)
        if self.hints_visible:
            painter.drawImage(0, 0, self.layers["hints"])
            if self._stroke is not None and self.active_layer == "hints":
                self._draw_stroke(painter)
        if self.result is not None:
            painter.setOpacity(self.result_opacity)
            painter.drawImage(0, 0, self.result)
        painter.end()

    def _stroke_image(self, rect: QRect) -> QImage:
        """The stroke's coverage inside `rect` as an image in the brush colour (white for the eraser)."""
        assert self._stroke is not None
        top, left = rect.top(), rect.left()
        alpha = self._stroke[top : top + rect.height(), left : left + rect.width()]
        pixels = np.empty((*alpha.shape, 4), np.uint8)
        colour = QColor("white") if self.tool == "eraser" else self.colour
        pixels[..., 0], pixels[..., 1], pixels[..., 2] = colour.red(), colour.green(), colour.blue()
        pixels[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        return qimage_from_array(pixels).convertToFormat(_FORMAT)

    def _draw_stroke(self, painter: QPainter) -> None:
        rect = self._stroke_rect.intersected(self.layers["sketch"].rect())
        if rect.isEmpty():
            return
        painter.save()
        painter.setOpacity(self.opacity)
        painter.drawImage(rect.topLeft(), self._stroke_image(rect))
        painter.restore()

    # -- input -----------------------------------------------------------------------------------
    def tabletEvent(self, event: QTabletEvent) -> None:
        position = event.position()
        pressure = float(event.pressure())
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._tablet_down = True
            self.begin_stroke(self.to_canvas(position), pressure)
        elif kind == QTabletEvent.Type.TabletMove and self._tablet_down:
            self.continue_stroke(self.to_canvas(position), pressure)
        elif kind == QTabletEvent.Type.TabletRelease and self._tablet_down:
            self._tablet_down = False
            self.end_stroke()
        event.accept()  # no synthesised mouse events: the pen's pressure is the stroke

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self._pan_from = event.position()
        elif event.button() == Qt.MouseButton.LeftButton and not self._tablet_down:
            self.begin_stroke(self.to_canvas(event.position()), 1.0)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self.offset += event.position() - self._pan_from
            self._pan_from = event.position()
            self.update()
        elif self._stroke is not None and not self._tablet_down:
            self.continue_stroke(self.to_canvas(event.position()), 1.0)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
        elif self._stroke is not None and not self._tablet_down:
            self.end_stroke()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.15**steps, event.position())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasUrls():
            for url in data.urls():
                if url.isLocalFile():
                    self.image_dropped.emit(url.toLocalFile())
                    event.acceptProposedAction()
                    return
        if data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.set_sketch(array_from_qimage(image))
                event.acceptProposedAction()

    # -- painting --------------------------------------------------------------------------------
    def begin_stroke(self, point: QPointF, pressure: float) -> None:
        if self.tool == "fill":
            self.fill_at(point)
            return
        width, height = self.canvas_size
        # Coverage per pixel, combined by maximum: overlapping dabs never build up past the pen's
        # pressure, so a light-pressure stroke stays light all along.
        self._stroke = np.zeros((height, width), np.float32)
        self._stroke_rect = QRect()
        self._last = None
        self.continue_stroke(point, pressure)

    def continue_stroke(self, point: QPointF, pressure: float) -> None:
        if self._stroke is None:
            return
        if self._last is None:
            self._dab(point, pressure)
        else:
            start, start_pressure = self._last
            distance = math.hypot(point.x() - start.x(), point.y() - start.y())
            spacing = max(0.5, self._radius(min(pressure, start_pressure)) * 0.25)
            count = max(1, int(distance / spacing))
            for i in range(1, count + 1):
                t = i / count
                self._dab(start + (point - start) * t, start_pressure + (pressure - start_pressure) * t)
        self._last = (point, pressure)
        view = QRectF(self._stroke_rect)
        self.update(
            QRectF(view.topLeft() * self.zoom + self.offset, view.size() * self.zoom)
            .toAlignedRect()
            .adjusted(-2, -2, 2, 2)
        )

    def _radius(self, pressure: float) -> float:
        scale = pressure if self.pressure_size else 1.0
        return max(0.5, self.brush_size * scale / 2)

    def _dab(self, centre: QPointF, pressure: float) -> None:
        assert self._stroke is not None
        radius = self._radius(pressure)
        alpha = max(0.0, min(1.0, pressure)) if self.pressure_opacity else 1.0
        height, width = self._stroke.shape
        x0, x1 = max(0, int(centre.x() - radius - 1)), min(width, int(centre.x() + radius + 2))
        y0, y1 = max(0, int(centre.y() - radius - 1)), min(height, int(centre.y() + radius + 2))
        if x0 >= x1 or y0 >= y1:
            return
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        distance = np.hypot(xs + 0.5 - centre.x(), ys + 0.5 - centre.y())
        # Hard core out to `hardness * radius`, then a linear fade; the last pixel is anti-aliased.
        core = self.hardness * radius
        fade = np.clip((radius + 0.5 - distance) / max(radius + 0.5 - core, 1.0), 0.0, 1.0)
        window = self._stroke[y0:y1, x0:x1]
        np.maximum(window, fade * alpha, out=window)
        self._stroke_rect |= QRect(x0, y0, x1 - x0, y1 - y0)

    def end_stroke(self) -> None:
        if self._stroke is None:
            return
        layer = self.layers[self.active_layer]
        rect = self._stroke_rect.intersected(layer.rect())
        if rect.isEmpty():
            self._stroke = None
            self.update()
            return
        mark = self._stroke_image(rect)
        self._stroke = None
        merged = layer.copy(rect)
        painter = QPainter(merged)
        painter.setOpacity(self.opacity)
        if self.tool == "eraser" and self.active_layer != "sketch":
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
        # On the sketch the eraser paints paper white rather than making holes.
        painter.drawImage(0, 0, mark)
        painter.end()
        self._replace_region(self.active_layer, rect, merged, True)

    def fill_at(self, point: QPointF, tolerance: int = 32) -> None:
        """Flood fill on the active layer from `point` with the brush colour (Pillow's flood fill)."""
        x, y = int(point.x()), int(point.y())
        width, height = self.canvas_size
        if not (0 <= x < width and 0 <= y < height):
            return
        before = self.layer_array(self.active_layer)
        image = Image.fromarray(before, "RGBA").copy()  # a writable image of its own
        colour = self.colour
        fill = (colour.red(), colour.green(), colour.blue(), round(255 * self.opacity))
        ImageDraw.floodfill(image, (x, y), fill, thresh=tolerance)
        after = np.asarray(image)
        changed = np.argwhere((after != before).any(axis=2))
        if not len(changed):
            return
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
        rect = QRect(int(left), int(top), int(right - left + 1), int(bottom - top + 1))
        patch = qimage_from_array(np.ascontiguousarray(after[top : bottom + 1, left : right + 1]))
        self._replace_region(self.active_layer, rect, patch.convertToFormat(_FORMAT), True)

    # -- files -----------------------------------------------------------------------------------
    def composite_array(self) -> np.ndarray:
        """What the user sees (sketch, hints, result at its opacity) as RGBA."""
        image = self.layers["sketch"].copy()
        painter = QPainter(image)
        if self.hints_visible:
            painter.drawImage(0, 0, self.layers["hints"])
        if self.result is not None:
            painter.setOpacity(self.result_opacity)
            painter.drawImage(0, 0, self.result)
        painter.end()
        return array_from_qimage(image)

    def save_sketch(self, path: Path) -> None:
        Image.fromarray(self.sketch_array(), "RGBA").save(path)
