"""The palette value and the interface every analyser implements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_HEX = re.compile(r"^#[0-9a-f]{6}$")


@dataclass(frozen=True)
class Palette:
    """A gradient for window borders, bars and accents.

    ``gradient_from`` sits near the top of the screen and works as a background for
    black text; ``gradient_to`` sits near the bottom; ``gradient_angle`` is a CSS angle
    in degrees (0 = towards the top, 90 = towards the right, 135 = top-left to
    bottom-right, 180 = top to bottom).
    """

    gradient_from: str
    gradient_to: str
    gradient_angle: int

    def __post_init__(self) -> None:
        for name in ("gradient_from", "gradient_to"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _HEX.match(value):
                raise ValueError(f"{name} must be a lower-case #rrggbb colour, not {value!r}")
        angle = self.gradient_angle
        if isinstance(angle, bool) or not isinstance(angle, int) or not 0 <= angle <= 359:
            raise ValueError(f"gradient_angle must be an integer 0..359, not {angle!r}")

    def to_dict(self) -> dict[str, str | int]:
        return {
            "gradient_from": self.gradient_from,
            "gradient_to": self.gradient_to,
            "gradient_angle": self.gradient_angle,
        }


class PaletteAnalyser(Protocol):
    """Makes a palette for a picture file.

    ``identity`` names the analyser and everything that changes its answer (provider,
    endpoint, model, prompt version): palettes are cached under the picture's SHA-256
    plus this identity, so changing any of them asks again.
    ``source`` is ``"ai"`` or ``"local"``, reported as ``palette_source``.
    """

    @property
    def identity(self) -> str: ...

    @property
    def source(self) -> str: ...

    def analyse(self, image_path: Path) -> Palette:
        """Return the palette, or raise ``PaletteError`` with a one-line reason."""
        ...
