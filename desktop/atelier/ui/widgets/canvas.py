"""A painting canvas: pressure-sensitive brush, eraser and fill on layers, region-based undo, zoom and pan.

Layers: `sketch` (what the user draws, on white paper), `hints` (colour scribbles for the colorizer,
transparent) and `result` (a generated image shown over the sketch at an adjustable opacity).
A stroke is painted into a scratch buffer and merged when the pen lifts, so its undo step only keeps
the stroke's bounding rectangle before and after. Steps are commands on a core UndoStack (the
panel's document's), so one Undo walks back strokes and setting changes in the order they happened.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

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

from atelier.core.documents.sketch import ToolSettings
from atelier.core.undo import Command, UndoStack
from atelier.ui.widgets.images import array_from_qimage, qimage_from_array

LAYERS = ("sketch", "hints")
TOOLS = ("brush", "eraser", "fill")
_FORMAT = QImage.Format.Format_ARGB32_Premultiplied
STANDALONE_UNDO_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CanvasState:
    """The whole canvas at one moment (QImages share their pixels until painted on, so this is cheap)."""

    layers: dict[str, QImage]
    result: QImage | None

    def nbytes(self) -> int:
        images = [*self.layers.values(), *([self.result] if self.result is not None else [])]
        return sum(int(image.sizeInBytes()) for image in images)


def _blank(width: int, height: int, colour: QColor) -> QImage:
    image = QImage(width, height, _FORMAT)
    image.fill(colour)
    return image


def _on_paper(picture: QImage) -> QImage:
    """`picture` over white paper (the sketch layer is opaque)."""
    paper = _blank(picture.width(), picture.height(), QColor("white"))
    painter = QPainter(paper)
    painter.drawImage(0, 0, picture)
    painter.end()
    return paper


def _enclosed_region(sketch: np.ndarray, seed: tuple[int, int], tolerance: int) -> np.ndarray:
    """HxW bool: the pixels a flood fill of the (opaque) sketch from `seed` reaches (Pillow's flood fill)."""
    image = Image.fromarray(sketch, "RGBA").copy()  # a writable image of its own
    # Fully transparent never occurs on the sketch's paper, so what turns transparent is the region.
    ImageDraw.floodfill(image, seed, (0, 0, 0, 0), thresh=tolerance)
    return np.asarray(image)[:, :, 3] == 0


class CanvasWidget(QWidget):
    stroke_started = Signal()  # the pen went down (or a fill): the panel hides a result shown over the sketch
    stroke_finished = Signal()  # any change to the sketch or hints (live mode listens)
    result_changed = Signal()
    size_changed = Signal(int, int)  # a new canvas, or undoing back to the old one
    image_dropped = Signal(str)  # a file dropped on the canvas (the panel imports it)
    picture_dropped = Signal(object)  # image data dropped (no file): an RGBA array, the panel imports it

    def __init__(
        self, width: int = 512, height: int = 512, parent: QWidget | None = None, undo_stack: UndoStack | None = None
    ) -> None:
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
        self.undo_stack = undo_stack if undo_stack is not None else UndoStack(budget_bytes=STANDALONE_UNDO_BYTES)
        self.result: QImage | None = None
        self._stroke: np.ndarray | None = None
        self._stroke_rect = QRect()
        self._last: tuple[QPointF, float] | None = None
        self._pan_from: QPointF | None = None
        self._tablet_down = False
        self._fitted = False
        self.layers: dict[str, QImage] = {}
        self.new_canvas(width, height, undoable=False)

    # -- document --------------------------------------------------------------------------------
    def set_tools(self, tools: ToolSettings) -> None:
        """Paint with the document's tool settings from the next stroke on."""
        self.tool, self.active_layer, self.colour = tools.tool, tools.layer, QColor(tools.colour)
        self.brush_size, self.opacity, self.hardness = float(tools.size), tools.opacity, tools.hardness
        self.pressure_size, self.pressure_opacity = tools.pressure_size, tools.pressure_opacity

    @property
    def canvas_size(self) -> tuple[int, int]:
        image = self.layers["sketch"]
        return image.width(), image.height()

    def new_canvas(
        self,
        width: int,
        height: int,
        sketch: np.ndarray | None = None,
        hints: np.ndarray | None = None,
        undoable: bool = True,
        text: str = "",
    ) -> None:
        """Start a canvas of another size (blank, or with the given layers); as one undo step that
        brings back the old canvas, its layers, its result and the steps before it."""
        layers = {
            "sketch": _blank(width, height, QColor("white")),
            "hints": _blank(width, height, QColor(0, 0, 0, 0)),
        }
        for name, array in (("sketch", sketch), ("hints", hints)):
            if array is not None:
                image = qimage_from_array(array).convertToFormat(_FORMAT)
                if (image.width(), image.height()) == (width, height):
                    layers[name] = _on_paper(image) if name == "sketch" else image
        before = self.snapshot() if self.layers and undoable else None
        after = CanvasState(layers, None)
        self.restore(after)
        if before is not None:
            self.undo_stack.push(
                Command(
                    text or f"New canvas {width}×{height}",
                    redo=lambda: self.restore(after),
                    undo=lambda: self.restore(before),
                    nbytes=before.nbytes() + after.nbytes(),
                ),
                already_done=True,
            )

    def snapshot(self) -> CanvasState:
        return CanvasState({name: QImage(image) for name, image in self.layers.items()}, self.result)

    def restore(self, state: CanvasState) -> None:
        sketch = state.layers["sketch"]
        resized = not self.layers or self.canvas_size != (sketch.width(), sketch.height())
        # Shallow copies: painting detaches them, so the state kept by an undo step never changes.
        self.layers = {name: QImage(image) for name, image in state.layers.items()}
        self.result = state.result
        if resized:
            self._fitted = False
            self.size_changed.emit(*self.canvas_size)
        self.result_changed.emit()
        self.stroke_finished.emit()
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

    def set_sketch(self, array: np.ndarray, text: str = "Replace the sketch") -> None:
        """Replace the sketch with a picture of the canvas's size, as one undo step."""
        image = qimage_from_array(array).convertToFormat(_FORMAT)
        if (image.width(), image.height()) != self.canvas_size:
            raise ValueError(f"The picture is {image.width()}x{image.height()}, the canvas {self.canvas_size}.")
        paper = _on_paper(image)
        self._replace_region("sketch", paper.rect(), paper, text)

    def place_picture(self, array: np.ndarray) -> None:
        """Put a picture of any size over the sketch, scaled to fit with its aspect kept and centred, as one
        undo step. The drawing around it, and under its clear parts, stays: placing is not replacing."""
        width, height = self.canvas_size
        picture = qimage_from_array(array).scaled(
            width, height, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        left, top = (width - picture.width()) // 2, (height - picture.height()) // 2
        rect = QRect(left, top, picture.width(), picture.height())
        merged = self.layers["sketch"].copy(rect)
        painter = QPainter(merged)
        painter.drawImage(0, 0, picture)
        painter.end()
        self._replace_region("sketch", rect, merged, "Place a picture")

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
        self._replace_region("sketch", merged.rect(), merged, "Accept the result")
        self.result_changed.emit()

    def clear(self, layer: str | None = None) -> None:
        layer = layer or self.active_layer
        colour = QColor("white") if layer == "sketch" else QColor(0, 0, 0, 0)
        image = self.layers[layer]
        self._replace_region(layer, image.rect(), _blank(image.width(), image.height(), colour), f"Clear the {layer}")

    def _replace_region(self, layer: str, rect: QRect, new: QImage, text: str) -> None:
        """Put `new` (the size of `rect`) into `layer` at `rect`, as an undo step keeping only that region."""
        before, after = self.layers[layer].copy(rect), new.copy()
        self._blit(layer, rect, after)
        self.undo_stack.push(
            Command(
                text,
                redo=lambda: self._blit(layer, rect, after),
                undo=lambda: self._blit(layer, rect, before),
                nbytes=int(before.sizeInBytes() + after.sizeInBytes()),
            ),
            already_done=True,
        )

    def _blit(self, layer: str, rect: QRect, pixels: QImage) -> None:
        painter = QPainter(self.layers[layer])
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), pixels)
        painter.end()
        self.update()
        self.stroke_finished.emit()

    def undo(self) -> bool:
        return self.undo_stack.undo()

    def redo(self) -> bool:
        return self.undo_stack.redo()

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
                self.picture_dropped.emit(array_from_qimage(image))
                event.acceptProposedAction()

    # -- painting --------------------------------------------------------------------------------
    def begin_stroke(self, point: QPointF, pressure: float) -> None:
        self.stroke_started.emit()
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
        what = "Eraser stroke" if self.tool == "eraser" else "Brush stroke"
        self._replace_region(self.active_layer, rect, merged, f"{what} on the {self.active_layer}")

    def fill_at(self, point: QPointF, tolerance: int = 32) -> None:
        """Flood fill from `point` with the brush colour at the brush opacity, as one undo step.

        The region is the one the sketch's lines enclose, whichever layer is active: a fill on the
        hints layer (transparent all over) stays inside the drawn shape, as an artist expects. The
        colour is painted over the layer, so the sketch stays opaque paper at any opacity.
        """
        x, y = int(point.x()), int(point.y())
        width, height = self.canvas_size
        if not (0 <= x < width and 0 <= y < height):
            return
        region = _enclosed_region(self.sketch_array(), (x, y), tolerance)
        rows, cols = np.nonzero(region)
        top, bottom, left, right = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        rect = QRect(left, top, right - left + 1, bottom - top + 1)
        mark = np.zeros((rect.height(), rect.width(), 4), np.uint8)
        mark[..., :3] = self.colour.red(), self.colour.green(), self.colour.blue()
        mark[..., 3] = np.where(region[top : bottom + 1, left : right + 1], 255, 0)
        before = self.layers[self.active_layer].copy(rect)
        patch = before.copy()
        painter = QPainter(patch)
        painter.setOpacity(self.opacity)
        painter.drawImage(0, 0, qimage_from_array(mark))
        painter.end()
        if patch == before:  # filled with the colour it already had: no step that changes nothing
            return
        self._replace_region(self.active_layer, rect, patch, f"Fill on the {self.active_layer}")

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

    def layer_png(self, layer: str) -> bytes:
        """A layer as PNG bytes (the project writes them atomically)."""
        buffer = io.BytesIO()
        Image.fromarray(self.layer_array(layer), "RGBA").save(buffer, format="PNG")
        return buffer.getvalue()
