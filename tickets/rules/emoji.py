"""Whether a text is exactly one emoji, as WhatsApp takes it for a reaction.

One emoji may be many code points: a skin tone (👍🏽), a flag (two regional indicators, 🇧🇷; or a tag
sequence, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), a keycap (1️⃣), or people and things joined by ZERO WIDTH JOINER (👩‍💻, 👨‍👩‍👧). The rule below is
the structure of Unicode's emoji sequences (UTS #51) over the Extended_Pictographic code points, so an
emoji newer than this list of ranges is still accepted when it is built like the others; text, two
emoji side by side or a stray joiner are not.
"""

from __future__ import annotations

import re

# Extended_Pictographic (Unicode emoji-data.txt), as ranges: the code points an emoji is built on.
_PICTOGRAPHIC = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9-\u21aa\u231a-\u231b\u2328\u2388\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa-\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934-\u2935"
    "\u2b05-\u2b07\u2b1b-\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f0ff\U0001f10d-\U0001f10f\U0001f12f\U0001f16c-\U0001f171\U0001f17e-\U0001f17f"
    "\U0001f18e\U0001f191-\U0001f19a\U0001f1ad-\U0001f1e5\U0001f201-\U0001f20f\U0001f21a\U0001f22f"
    "\U0001f232-\U0001f23a\U0001f23c-\U0001f23f\U0001f249-\U0001f3fa\U0001f400-\U0001f53d"
    "\U0001f546-\U0001f64f\U0001f680-\U0001f6ff\U0001f774-\U0001f77f\U0001f7d5-\U0001f7ff"
    "\U0001f80c-\U0001f80f\U0001f848-\U0001f84f\U0001f85a-\U0001f85f\U0001f888-\U0001f88f"
    "\U0001f8ae-\U0001f8ff\U0001f90c-\U0001f93a\U0001f93c-\U0001f945\U0001f947-\U0001faff"
    "\U0001fc00-\U0001fffd"
)
_SKIN_TONE = "\U0001f3fb-\U0001f3ff"
_VARIATION = "\ufe0e\ufe0f"
# One element of a sequence: a pictograph, its presentation selector, its skin tone, its tag sequence.
_ELEMENT = f"[{_PICTOGRAPHIC}][{_VARIATION}]?[{_SKIN_TONE}]?(?:[\U000e0020-\U000e007e]+\U000e007f)?[{_VARIATION}]?"
_ONE_EMOJI = re.compile(
    "(?:"
    "[\U0001f1e6-\U0001f1ff]{2}"  # a flag: two regional indicators
    "|[0-9#*]\ufe0f?\u20e3"  # a keycap
    f"|{_ELEMENT}(?:\u200d{_ELEMENT})*"  # a pictograph, or several joined by ZERO WIDTH JOINER
    ")"
)
# Longer than any real sequence (the longest, a family with skin tones, is about a dozen code points).
MAX_LENGTH = 32


def is_one_emoji(value: str) -> bool:
    return 0 < len(value) <= MAX_LENGTH and _ONE_EMOJI.fullmatch(value) is not None
