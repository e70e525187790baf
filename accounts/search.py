"""The search index's words: accent- and case-folded terms, shared by every profile.

The queue's search (tickets.reads.selectors) matches each word of a query as a *prefix* of an indexed term,
with a range on an indexed column (`term >= w AND term < w + '\\uffff'`): the same plan on SQLite,
PostgreSQL and MongoDB, and a cost that follows the matches, not the size of the tables. The terms are
written next to what they index (a client's name and number here, a message's text in
tickets.reads.search), never computed at query time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

TERM_MAX = 32  # longer words are indexed (and searched) by their first TERM_MAX characters
TERM_MIN = 2  # one-letter words are not indexed: they would match half the table
PHONE_FRAGMENT_MIN = 4  # a number is found from any 4 of its digits on (area code, last digits...)
PREFIX_END = "\uffff"

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """'João' → 'joao': decomposed, combining marks dropped, case-folded."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> set[str]:
    """The terms of a text: folded words of at least TERM_MIN characters, cut at TERM_MAX."""
    return {w[:TERM_MAX] for w in _WORD.findall(fold(text)) if len(w) >= TERM_MIN}


def query_words(text: str) -> list[str]:
    """A query's words, in order, without repeats: each must prefix some term of the ticket."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(fold(text)):
        if len(w) >= TERM_MIN:
            seen.setdefault(w[:TERM_MAX], None)
    return list(seen)


def phone_terms(*numbers: str) -> set[str]:
    """Every tail of a number's digits from PHONE_FRAGMENT_MIN on, so a prefix match is a substring match:
    '5511987654321' is found by '11987', '98765' or '4321'."""
    out = set()
    for number in numbers:
        digits = "".join(c for c in number or "" if c.isdigit())[:TERM_MAX]
        out.update(digits[i:] for i in range(0, max(0, len(digits) - PHONE_FRAGMENT_MIN + 1)))
    return out


def client_terms(
    *, name: str, names: Iterable[str] = (), phone: str = "", wa_id: str = "", email: str = "", document: str = ""
) -> set[str]:
    """A client's terms: name words (earlier names too), number tails, e-mail words, the whole CPF/CNPJ."""
    terms = words(name) | phone_terms(phone, wa_id) | words(email)
    for other in names:
        terms |= words(other)
    if document:
        terms.add(fold(document)[:TERM_MAX])
    return terms


_NUMBERISH = re.compile(r"^[\d\s()+\-./]+$")
_CODE = re.compile(r"^[\w.\-/]+$")
_CODE_PUNCTUATION = re.compile(r"[.\-/]")


def contact_query(text: str, *, variants=None) -> list[set[str]]:
    """A contact search's words, each a set of alternative prefixes (a contact matches when every word
    prefixes one of its terms through one of its alternatives).

    A query of digits and phone punctuation is one word: its digits (`(11) 98765-4321` → `11987654321`),
    plus the stored forms of the whole number when it is one (`variants`: accounts.phones, with and
    without the ninth digit). A token with a digit and punctuation (`123.456.789-09`, `12.ABC.345/01DE-35`)
    is one word without its punctuation; anything else is split into words like the index."""
    text = (text or "").strip()
    if not text:
        return []
    if _NUMBERISH.match(text):
        digits = "".join(c for c in text if c.isdigit())[:TERM_MAX]
        if len(digits) < PHONE_FRAGMENT_MIN:
            return []
        alternatives = {digits} | set(variants(text) if variants else ())
        return [{a[:TERM_MAX] for a in alternatives}]
    out: dict[str, set[str]] = {}
    for token in text.split():
        if any(c.isdigit() for c in token) and _CODE.match(token) and _CODE_PUNCTUATION.search(token):
            code = fold(_CODE_PUNCTUATION.sub("", token))[:TERM_MAX]
            if len(code) >= TERM_MIN:
                out.setdefault(code, {code})
            continue
        for word in query_words(token):
            out.setdefault(word, {word})
    return list(out.values())
