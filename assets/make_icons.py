"""Draw AudioFetch's icon with Pillow: assets/icon.png, icon.ico (Windows), icon.icns (macOS).

Run `python assets/make_icons.py` after changing the drawing; the outputs are committed, so
building the executable does not need Pillow. Pillow writes the .icns itself; on a Mac
`iconutil -c icns` on an .iconset made from icon.png gives the same.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PRIMARY = (0x1F, 0x6F, 0xEB, 255)  # the app's header colour
WHITE = (255, 255, 255, 255)
SIZE = 1024


def draw(size: int = SIZE) -> Image.Image:
    """A blue rounded square with sound bars and a download arrow, in white."""
    scale = 4  # draw large, shrink once: smooth edges without anti-aliasing support
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    unit = big / 64
    pen.rounded_rectangle((2 * unit, 2 * unit, 62 * unit, 62 * unit), radius=13 * unit,
                          fill=PRIMARY)
    # Sound bars across the upper part.
    heights = [6, 12, 18, 24, 18, 12, 6]
    width, gap = 3.2 * unit, 2.2 * unit
    left = (big - (len(heights) * width + (len(heights) - 1) * gap)) / 2
    middle = 22 * unit
    for index, height in enumerate(heights):
        x = left + index * (width + gap)
        half = height * unit / 2
        pen.rounded_rectangle((x, middle - half, x + width, middle + half), radius=width / 2,
                              fill=WHITE)
    # A download arrow into a tray below them.
    shaft = 3.4 * unit
    pen.rectangle((32 * unit - shaft / 2, 33 * unit, 32 * unit + shaft / 2, 45 * unit),
                  fill=WHITE)
    pen.polygon([(23 * unit, 42 * unit), (41 * unit, 42 * unit), (32 * unit, 51 * unit)],
                fill=WHITE)
    pen.rounded_rectangle((17 * unit, 52.5 * unit, 47 * unit, 56 * unit), radius=1.7 * unit,
                          fill=WHITE)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    icon = draw()
    icon.save(HERE / "icon.png", optimize=True)
    icon.save(HERE / "icon.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64),
                                        (128, 128), (256, 256)])
    icon.save(HERE / "icon.icns")
    for name in ("icon.png", "icon.ico", "icon.icns"):
        print(HERE / name)


if __name__ == "__main__":
    main()
