"""WhatsApp's text formatting as HTML: `*bold*`, `_italic_`, `~strike~` and ```` ```mono``` ````.

The text is split into spans first and every piece of the client's (or agent's) text is escaped on its
own; the only markup in the result is the fixed tags below, so no text can ever become HTML.

WhatsApp's rules, as followed here: a marker opens only at the start of a word (not after a letter or
digit, so `snake_case_name` stays as it is) and when a non-space follows it; it closes at the nearest
marker of the same kind on the same line that follows a non-space and is not followed by a letter or
digit. Spans nest (`*_both_*`), never overlap: what a span opens inside it closes inside it, or stays
plain text. Nothing is formatted inside ```` ``` ````, which may span lines. A scan with binary searches
over precomputed positions, so a long text full of markers costs no more than a plain one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

TAGS = {"*": "strong", "_": "em", "~": "s"}
MONO = "```"

Node = tuple[str, "str | list[Node]"]


class _Text:
    def __init__(self, text: str):
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        # Where each marker may close, whatever opens before it: sorted positions per marker.
        self.closers = {m: [j for j, c in enumerate(text) if c == m and self._closes(j)] for m in TAGS}
        self.mono_left = True

    def _closes(self, j: int) -> bool:
        s = self.text
        before = s[j - 1] if j else " "
        after = s[j + 1] if j + 1 < len(s) else " "
        return not before.isspace() and before != s[j] and not after.isalnum()

    def _opens(self, i: int) -> bool:
        s = self.text
        before = s[i - 1] if i else " "
        after = s[i + 1] if i + 1 < len(s) else " "
        return not before.isalnum() and not after.isspace() and after != s[i]

    def _closer(self, marker: str, i: int, hi: int) -> int:
        """The nearest position closing `marker` opened at `i`, before `hi` and on the same line; -1 if none."""
        line_end = self.newlines[n] if (n := bisect_right(self.newlines, i)) < len(self.newlines) else len(self.text)
        positions = self.closers[marker]
        k = bisect_left(positions, i + 2)  # at least one character inside
        return positions[k] if k < len(positions) and positions[k] < min(hi, line_end) else -1

    def parse(self, lo: int, hi: int) -> list[Node]:
        s, nodes, plain, i = self.text, [], lo, lo
        while i < hi:
            if self.mono_left and s.startswith(MONO, i):
                j = s.find(MONO, i + len(MONO) + 1, hi)
                if j < 0 and hi == len(s):
                    self.mono_left = False  # none closes after this one: never look again
                if j >= 0:
                    nodes.append(("text", s[plain:i]))
                    nodes.append(("code", s[i + len(MONO) : j]))
                    i = plain = j + len(MONO)
                    continue
            marker = s[i]
            if marker in TAGS and self._opens(i):
                j = self._closer(marker, i, hi)
                if j >= 0:
                    nodes.append(("text", s[plain:i]))
                    nodes.append((TAGS[marker], self.parse(i + 1, j)))
                    i = plain = j + 1
                    continue
            i += 1
        nodes.append(("text", s[plain:hi]))
        return [n for n in nodes if n[1] or n[0] != "text"]


def _render(nodes: list[Node], newline: str) -> str:
    out = []
    for kind, value in nodes:
        if kind == "text":
            out.append(escape(value).replace("\n", newline))
        elif kind == "code":
            out.append(f"<code>{escape(value).replace(chr(10), newline)}</code>")
        else:
            assert isinstance(value, list)
            out.append(f"<{kind}>{_render(value, newline)}</{kind}>")
    return "".join(out)


def whatsapp_html(text: str, *, inline: bool = False) -> SafeString:
    """The text as HTML with WhatsApp's formatting, everything else escaped. Line breaks become `<br>`,
    or spaces when `inline` (a one-line preview)."""
    text = str(text or "")
    if not text:
        return mark_safe("")
    return mark_safe(_render(_Text(text).parse(0, len(text)), " " if inline else "<br>"))
