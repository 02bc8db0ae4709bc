"""Render the app icon's PNGs from its SVG with Qt: ``python resources/icons/render.py``.

Writes ``hicolor/<N>x<N>/apps/io.github.huewall.Huewall.png`` for every size in ``SIZES``
(the freedesktop icon theme layout, so ``hicolor/`` can be copied under
``share/icons/``). Run it again after editing the SVG and commit the PNGs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "io.github.huewall.Huewall"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
HERE = Path(__file__).resolve().parent


def render(out_dir: Path = HERE, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Render ``<APP_ID>.svg`` into one PNG per size under ``out_dir/hicolor``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt  # noqa: TID251 (a build script, not the app)
    from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: TID251
    from PySide6.QtSvg import QSvgRenderer  # noqa: TID251

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / f"{APP_ID}.svg"))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {APP_ID}.svg")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"cannot write {target}")
        written.append(target)
    del app
    return written


if __name__ == "__main__":
    for path in render():
        print(path.relative_to(HERE))
