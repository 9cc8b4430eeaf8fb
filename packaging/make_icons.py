#!/usr/bin/env python3
"""Draw the LM Scales icon (a balance scale: a small teal pan up, a large violet pan down) and write it at
the sizes each platform wants, into `resources/icons/`:

    lmscales.svg                 freedesktop's scalable icon, and the source of truth to look at
    lmscales-{16..512}.png       freedesktop hicolor sizes; the window icon
    lmscales.ico                 Windows (16, 24, 32, 48, 64, 128, 256)
    lmscales.icns                macOS (16 to 1024, 1x and 2x)

One geometry, in a 100×100 design space, feeds both the SVG and the raster drawing (Pillow, drawn 4×
larger and scaled down for antialiasing). The outputs are committed; run this again only to change the
design:  .venv/bin/python packaging/make_icons.py   (needs Pillow)
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"

PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# The icns element types for PNG data, by pixel size (the @2x types share a size with the next 1x one).
ICNS_TYPES = (("icp4", 16), ("ic11", 32), ("icp5", 32), ("ic12", 64), ("icp6", 64), ("ic07", 128),
              ("ic13", 256), ("ic08", 256), ("ic14", 512), ("ic09", 512), ("ic10", 1024))
SUPERSAMPLE = 4

TILE = "#1d2333"
METAL = "#e6e8f0"
SMALL = "#1f9e89"  # the small model's colour in the app
LARGE = "#7b5cff"  # the large model's colour in the app


@dataclass(frozen=True)
class Pan:
    x: float  # where its strings meet the beam
    y: float
    radius: float
    drop: float  # from the beam end down to the pan's rim
    colour: str


BEAM_LEFT = (23.0, 24.0)
BEAM_RIGHT = (77.0, 36.0)  # the heavier, large side sits lower
PIVOT = (50.0, 30.0)
BEAM_WIDTH = 5.0
STRING_WIDTH = 1.8
PANS = (Pan(*BEAM_LEFT, radius=10.0, drop=20.0, colour=SMALL), Pan(*BEAM_RIGHT, radius=15.0, drop=22.0, colour=LARGE))


def svg() -> str:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="512" height="512">',
        f'<rect x="4" y="4" width="92" height="92" rx="20" fill="{TILE}"/>',
        f'<rect x="47.5" y="{PIVOT[1]}" width="5" height="50" fill="{METAL}"/>',
        f'<rect x="33" y="79" width="34" height="7" rx="3" fill="{METAL}"/>',
    ]
    for pan in PANS:
        rim = pan.y + pan.drop
        parts.append(
            f'<path d="M{pan.x - pan.radius} {rim} L{pan.x} {pan.y} L{pan.x + pan.radius} {rim}" fill="none" '
            f'stroke="{METAL}" stroke-width="{STRING_WIDTH}" stroke-linejoin="round"/>'
        )
        parts.append(
            f'<path d="M{pan.x - pan.radius} {rim} A{pan.radius} {pan.radius} 0 0 0 {pan.x + pan.radius} {rim} Z" '
            f'fill="{pan.colour}"/>'
        )
    (lx, ly), (rx, ry) = BEAM_LEFT, BEAM_RIGHT
    parts.append(
        f'<line x1="{lx}" y1="{ly}" x2="{rx}" y2="{ry}" stroke="{METAL}" stroke-width="{BEAM_WIDTH}" '
        'stroke-linecap="round"/>'
    )
    parts.append(f'<circle cx="{PIVOT[0]}" cy="{PIVOT[1]}" r="4.5" fill="{METAL}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def raster(size: int) -> Image.Image:
    scale = size * SUPERSAMPLE / 100.0
    big = Image.new("RGBA", (size * SUPERSAMPLE,) * 2, (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * scale, y0 * scale, x1 * scale, y1 * scale]

    def width(units: float) -> int:
        # Never thinner than one final pixel, or the strings vanish at 16 px.
        return max(round(units * scale), SUPERSAMPLE)

    # At 16 and 24 px the strings would be grey mush: the tile fills the square and the pans hang closer.
    detailed = size > 24
    margin = 4 if detailed else 0
    draw.rounded_rectangle(box(margin, margin, 100 - margin, 100 - margin), radius=20 * scale, fill=TILE)
    draw.rectangle(box(47.5, PIVOT[1], 52.5, 80), fill=METAL)
    draw.rounded_rectangle(box(33, 79, 67, 86), radius=3 * scale, fill=METAL)
    for pan in PANS:
        if not detailed:
            pan = Pan(pan.x, pan.y, pan.radius * 1.15, pan.drop * 0.55, pan.colour)
        rim = pan.y + pan.drop
        if detailed:
            draw.line(
                [((pan.x - pan.radius) * scale, rim * scale), (pan.x * scale, pan.y * scale),
                 ((pan.x + pan.radius) * scale, rim * scale)],
                fill=METAL, width=width(STRING_WIDTH), joint="curve",
            )
        else:
            draw.line([(pan.x * scale, pan.y * scale), (pan.x * scale, rim * scale)], fill=METAL, width=width(2.5))
        draw.pieslice(box(pan.x - pan.radius, rim - pan.radius, pan.x + pan.radius, rim + pan.radius), 0, 180,
                      fill=pan.colour)
    (lx, ly), (rx, ry) = BEAM_LEFT, BEAM_RIGHT
    draw.line([(lx * scale, ly * scale), (rx * scale, ry * scale)], fill=METAL, width=width(BEAM_WIDTH))
    for x, y in (BEAM_LEFT, BEAM_RIGHT):  # round caps
        r = BEAM_WIDTH / 2
        draw.ellipse(box(x - r, y - r, x + r, y + r), fill=METAL)
    draw.ellipse(box(PIVOT[0] - 4.5, PIVOT[1] - 4.5, PIVOT[0] + 4.5, PIVOT[1] + 4.5), fill=METAL)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def png_bytes(image: Image.Image) -> bytes:
    """A small PNG: a flat design survives a 256-colour palette with alpha, at a third of the size."""
    buffer = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(buffer, "png", optimize=True)
    return buffer.getvalue()


def icns(images: dict[int, Image.Image]) -> bytes:
    """Apple's icon container: a header, then (type, length, PNG) elements. Pillow's writer upscales and
    stores unoptimised PNGs; this one is a few lines."""
    streams = {size: png_bytes(images[size]) for _, size in ICNS_TYPES}
    body = b"".join(kind.encode() + struct.pack(">I", 8 + len(streams[size])) + streams[size]
                    for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lmscales.svg").write_text(svg(), encoding="utf-8")
    images = {size: raster(size) for size in sorted({*PNG_SIZES, *ICO_SIZES, *(s for _, s in ICNS_TYPES)})}
    for size in PNG_SIZES:
        (OUT / f"lmscales-{size}.png").write_bytes(png_bytes(images[size]))
    largest_ico = max(ICO_SIZES)
    images[largest_ico].save(
        OUT / "lmscales.ico", sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != largest_ico],
    )
    (OUT / "lmscales.icns").write_bytes(icns(images))
    total = sum(path.stat().st_size for path in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
