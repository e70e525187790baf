"""Small generated files for the demo's conversations (ops.demo_conversations): a picture, a voice note and a
PDF, made here so the demo needs no asset files. Each is a real file of its type (the picture decodes, the
sound plays, the PDF opens), small enough to store in a blink."""

from __future__ import annotations

import io
import math
import wave

from PIL import Image, ImageDraw


def picture(background: str, lines: list[str]) -> bytes:
    """A phone-sized PNG: a coloured header and a few lines of text, like a screenshot or a receipt."""
    image = Image.new("RGB", (360, 240), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 360, 56), fill=background)
    draw.text((16, 20), lines[0], fill="#ffffff")
    for n, line in enumerate(lines[1:]):
        draw.text((16, 80 + 28 * n), line, fill="#1f2937")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def voice_note(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A short WAV (8 kHz, 8-bit mono) with a soft two-tone hum: a browser plays it."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        t = n / rate
        fade = min(1.0, t * 8, (seconds - t) * 8)
        value = 0.3 * fade * (math.sin(2 * math.pi * 220 * t) + 0.5 * math.sin(2 * math.pi * 330 * t))
        frames.append(max(0, min(255, int(128 + 127 * value))))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of text (Helvetica, Latin-1), with a correct cross-reference table."""
    text = "BT /F1 14 Tf 56 780 Td 18 TL " + " ".join(f"({_pdf_escape(line)}) '" for line in lines) + " ET"
    stream = text.encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
