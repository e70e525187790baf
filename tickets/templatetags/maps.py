"""A location message's link to a map (OpenStreetMap: no key, no tracking parameters)."""

from __future__ import annotations

import math
from typing import Any

from django import template

register = template.Library()


def _degrees(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


@register.filter
def map_url(media: Any) -> str:
    """The map at the message's coordinates; "" when they are missing or not coordinates at all (the
    values come from the client's WhatsApp, so they are read as numbers, never pasted into the link)."""
    if not isinstance(media, dict):
        return ""
    lat, lon = _degrees(media.get("latitude"), 90), _degrees(media.get("longitude"), 180)
    if lat is None or lon is None:
        return ""
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"
