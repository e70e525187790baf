"""A voice note recorded in the browser, as WhatsApp plays it: Opus audio in an OGG container.

Browsers record Opus in WebM (Chromium) or in OGG (Firefox). WhatsApp plays a voice note only from OGG/Opus
(Meta's `"voice": true` audio; Evolution's sendWhatsAppAudio), so a WebM recording is remuxed: the very Opus
packets, moved into an OGG container by PyAV (FFmpeg's demuxer and muxer), never decoded or re-encoded. An OGG
recording is kept as it is, once PyAV has read it as one Opus stream. Anything else is refused.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

from tickets.media.outbound import MediaRefused

OGG_OPUS = "audio/ogg; codecs=opus"
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"
OGG_MAGIC = b"OggS"


def voice_ogg(data: bytes) -> bytes:
    """The recording as OGG/Opus bytes: the same bytes for an OGG/Opus recording, the same Opus packets in an
    OGG container for a WebM/Opus one. MediaRefused for anything that is not a single Opus audio stream."""
    if not data.startswith((WEBM_MAGIC, OGG_MAGIC)):
        raise MediaRefused(_("A gravação não é um áudio Opus (WebM ou OGG) que o navegador grava."))
    import av  # here, not at the top: only a voice note loads FFmpeg's libraries

    try:
        with av.open(io.BytesIO(data), mode="r") as source:
            streams = source.streams
            if len(streams.audio) != 1 or len(streams) != 1 or streams.audio[0].codec_context.name != "opus":
                raise MediaRefused(_("A gravação precisa ter uma única faixa de áudio Opus."))
            if data.startswith(OGG_MAGIC):
                if not any(p.dts is not None for p in source.demux(streams.audio[0])):
                    raise MediaRefused(_("A gravação está vazia."))
                return data
            return _remuxed(av, source, streams.audio[0])
    except av.error.FFmpegError as exc:
        raise MediaRefused(_("Não foi possível ler a gravação; grave de novo.")) from exc


def _remuxed(av: Any, source: Any, stream: Any) -> bytes:
    out = io.BytesIO()
    packets = 0
    # bitexact: the same recording always gives the same bytes (a fixed stream serial number instead of a random
    # one), so it is stored once (tickets.media.store names files by their SHA-256).
    with av.open(out, mode="w", format="ogg", container_options={"fflags": "+bitexact"}) as target:
        copy = target.add_stream_from_template(stream)  # the codec parameters (OpusHead) as they are
        for packet in source.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet: no data
                continue
            packet.stream = copy
            target.mux(packet)
            packets += 1
    if not packets:
        raise MediaRefused(_("A gravação está vazia."))
    return out.getvalue()
