"""A shop's brand colour, made safe to read wherever customers see it."""

import re

from surveys.models import Shop

DEFAULT_BRAND_COLOR = "#0b5cad"
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def brand_colours(shop: Shop) -> dict[str, str]:
    """The brand colour, the text colour that reads on it, and its "ink" for text on white."""
    return colours_of(shop.brand_color)


def colours_of(brand_color: str) -> dict[str, str]:
    brand_color = brand_color if _HEX_COLOR.match(brand_color or "") else DEFAULT_BRAND_COLOR
    return {
        "brand_color": brand_color,
        "brand_text_color": _readable_text_on(brand_color),
        # Text and outlines on white in the brand's hue: a pale brand colour would not read.
        "brand_ink": _ink_on_white(brand_color),
    }


def _luminance(color: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _readable_text_on(color: str) -> str:
    """White or near-black, whichever reads better on `color`."""
    # Contrast with white (1.05 / (L + 0.05)) beats contrast with black ((L + 0.05) / 0.05) below L≈0.18.
    return "#ffffff" if _luminance(color) < 0.179 else "#1f2328"


def _ink_on_white(color: str) -> str:
    """The brand colour, darkened just enough to read as text on white (contrast 4.5:1)."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for _step in range(20):
        candidate = f"#{red:02x}{green:02x}{blue:02x}"
        if 1.05 / (_luminance(candidate) + 0.05) >= 4.5:
            return candidate
        red, green, blue = (int(channel * 0.85) for channel in (red, green, blue))
    return "#1f2328"
