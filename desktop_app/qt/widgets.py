"""Small pieces the windows share: the gradient bar and the cover-cropped picture."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.core.palette.base import Palette
from desktop_app.qt.icons import gradient_endpoints


class GradientBar(QWidget):
    """A rounded bar painted with a palette's gradient at its CSS angle (plain before
    there is one)."""

    def __init__(self, parent: QWidget | None = None, height: int = 28) -> None:
        super().__init__(parent)
        self._palette: Palette | None = None
        self._height = height
        self.setMinimumSize(120, height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_palette(self, palette: Palette | None) -> None:
        if palette != self._palette:
            self._palette = palette
            self.update()

    def palette_shown(self) -> Palette | None:
        return self._palette

    def sizeHint(self) -> QSize:
        return QSize(240, self._height)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        path = QPainterPath()
        path.addRoundedRect(rect, 5, 5)
        if self._palette is None:
            painter.fillPath(path, self.palette().color(QPalette.ColorRole.AlternateBase))
        else:
            start, end = gradient_endpoints(rect, self._palette.gradient_angle)
            gradient = QLinearGradient(start, end)
            gradient.setColorAt(0.0, QColor(self._palette.gradient_from))
            gradient.setColorAt(1.0, QColor(self._palette.gradient_to))
            painter.fillPath(path, gradient)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawPath(path)
        painter.end()


def cover_image(path: Path, size: QSize) -> QImage:
    """The picture scaled (while decoding) to cover ``size`` and cropped to it; a null
    image when it cannot be read. ``QImage`` works off the GUI thread: call it in a Job."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    original = reader.size()
    if original.isValid() and original.width() > 0 and original.height() > 0:
        scale = max(size.width() / original.width(), size.height() / original.height())
        reader.setScaledSize(
            QSize(
                max(size.width(), math.ceil(original.width() * scale)),
                max(size.height(), math.ceil(original.height() * scale)),
            )
        )
    image = reader.read()
    if image.isNull():
        return image
    image = image.scaled(
        size,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    x = (image.width() - size.width()) // 2
    y = (image.height() - size.height()) // 2
    return image.copy(max(0, x), max(0, y), size.width(), size.height())
