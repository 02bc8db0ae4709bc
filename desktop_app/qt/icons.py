"""Icons painted from a palette: the tray icon and the settings preview.

A rounded square filled with the picture's gradient (CSS angle convention: 0 = towards
the top, 90 = towards the right, 180 = top to bottom), with a two-tone hairline border
(dark outside, light inside) so the square stands out on light and on dark panels.
Before there is a palette, a neutral grey square with a small sun stands in.

Paint only on the GUI thread (``QPixmap``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QLinearGradient, QPainter, QPen, QPixmap

# The sizes a tray asks for on the common desktops (XEmbed 16-24, SNI 22-64, HiDPI).
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128)
NEUTRAL_FROM = "#aab3bd"
NEUTRAL_TO = "#59636e"
NEUTRAL_ANGLE = 180


def gradient_endpoints(rect: QRectF, angle: int) -> tuple[QPointF, QPointF]:
    """Where a CSS ``linear-gradient(<angle>deg, ...)`` starts and ends in ``rect``.

    The gradient line goes through the centre in the angle's direction and is long
    enough that the corners get the pure end colours, as in CSS.
    """
    radians = math.radians(angle % 360)
    dx, dy = math.sin(radians), -math.cos(radians)  # y grows downwards on screen
    half = (abs(rect.width() * dx) + abs(rect.height() * dy)) / 2
    centre = rect.center()
    return (
        QPointF(centre.x() - dx * half, centre.y() - dy * half),
        QPointF(centre.x() + dx * half, centre.y() + dy * half),
    )


def gradient_pixmap(
    gradient_from: str | None,
    gradient_to: str | None,
    angle: int = NEUTRAL_ANGLE,
    size: int = 64,
    *,
    device_pixel_ratio: float = 1.0,
) -> QPixmap:
    """A ``size`` x ``size`` (logical pixels) rounded square painted with the gradient.

    ``None`` colours (no palette yet) give the neutral icon.
    """
    neutral = gradient_from is None or gradient_to is None
    start = QColor(NEUTRAL_FROM if neutral else gradient_from)
    end = QColor(NEUTRAL_TO if neutral else gradient_to)
    if not start.isValid() or not end.isValid():
        start, end, neutral = QColor(NEUTRAL_FROM), QColor(NEUTRAL_TO), True
    if neutral:
        angle = NEUTRAL_ANGLE

    physical = max(1, round(size * device_pixel_ratio))
    pixmap = QPixmap(physical, physical)
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    pixmap.fill(Qt.GlobalColor.transparent)

    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        line = max(1.0, size / 24)  # a hairline that stays visible at 16 px
        inset = line / 2 + max(0.0, size / 32)
        outer = QRectF(inset, inset, size - 2 * inset, size - 2 * inset)
        radius = outer.width() * 0.22

        first, last = gradient_endpoints(outer, angle)
        fill = QLinearGradient(first, last)
        fill.setColorAt(0.0, start)
        fill.setColorAt(1.0, end)
        painter.setPen(QPen(QColor(0, 0, 0, 110), line))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(outer, radius, radius)

        inner = outer.adjusted(line, line, -line, -line)
        painter.setPen(QPen(QColor(255, 255, 255, 90), line))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inner_radius = max(0.0, radius - line)
        painter.drawRoundedRect(inner, inner_radius, inner_radius)

        if neutral:  # a small sun over the horizon: "a picture will come here"
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 210))
            sun = outer.width() * 0.30
            painter.drawEllipse(
                QPointF(outer.center().x(), outer.center().y() + outer.height() * 0.02),
                sun / 2,
                sun / 2,
            )
            painter.setBrush(QColor(255, 255, 255, 120))
            horizon = QRectF(
                outer.left() + outer.width() * 0.18,
                outer.top() + outer.height() * 0.66,
                outer.width() * 0.64,
                max(1.0, outer.height() * 0.07),
            )
            painter.drawRoundedRect(horizon, horizon.height() / 2, horizon.height() / 2)
    finally:
        painter.end()
    return pixmap


def gradient_icon(
    gradient_from: str | None,
    gradient_to: str | None,
    angle: int = NEUTRAL_ANGLE,
    size: int = 64,
) -> QIcon:
    """A ``QIcon`` with the gradient square at the usual tray sizes up to ``size``.

    Every size is painted for itself, so small ones stay crisp instead of being scaled down.
    """
    icon = QIcon()
    sizes = sorted({s for s in ICON_SIZES if s <= size} | {size})
    for each in sizes:
        icon.addPixmap(gradient_pixmap(gradient_from, gradient_to, angle, each))
    return icon


def default_icon(size: int = 64) -> QIcon:
    """The neutral icon shown before the first palette arrives."""
    return gradient_icon(None, None, NEUTRAL_ANGLE, size)
