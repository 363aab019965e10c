"""numpy <-> QImage conversions (copies, so the array and the image never share a buffer) and picture fitting."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def qimage_from_array(array: np.ndarray) -> QImage:
    """HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) uint8 to a QImage that owns its pixels."""
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    elif array.shape[2] == 3:
        image = QImage(array.data, width, height, width * 3, QImage.Format.Format_RGB888)
    else:
        image = QImage(array.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
    return image.copy()


def array_from_qimage(image: QImage) -> np.ndarray:
    """A QImage as an HxWx4 RGBA uint8 array."""
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), np.uint8, count=converted.sizeInBytes())
    return buffer.reshape(height, converted.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()


def limit_side(picture: QImage, max_side: int) -> QImage:
    """`picture`, scaled down (aspect kept) when a side is longer than `max_side`."""
    if max(picture.width(), picture.height()) <= max_side:
        return picture
    return picture.scaled(
        max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def thumbnail(array: np.ndarray, side: int) -> QPixmap:
    """An image as a pixmap at most `side` pixels wide and high (for grids and previews)."""
    pixmap = QPixmap.fromImage(qimage_from_array(array))
    return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
