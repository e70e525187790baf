"""The user guide (docs/guia/, in Portuguese) served to logged-in users: the workspace's "Ajuda" link.

The pages are the repository's Markdown files, rendered by iaze.lib.markdown (markdown-it-py); their images are
docs/guia/img/ and the README's docs/screenshots/. Only names of files that exist there are served."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from iaze.lib.markdown import render as render_markdown

GUIDE_DIR = Path(settings.BASE_DIR) / "docs" / "guia"
IMAGE_DIRS = {"img": GUIDE_DIR / "img", "screenshots": GUIDE_DIR.parent / "screenshots"}
INDEX = "README"
_PAGE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.png$")
_ADDRESS = re.compile(r"^(?:\./)?(?:(?P<page>[a-zA-Z0-9-]+)\.md)?(?P<anchor>#[a-z0-9-]+)?$")
_IMAGE_ADDRESS = re.compile(r"^(?:\./)?(?:(img)|\.\./(screenshots))/([A-Za-z0-9._-]+\.png)$")


def _page_url(page: str) -> str:
    return reverse("guide") if page == INDEX else reverse("guide_page", args=[page])


def resolve(address: str) -> str | None:
    """Where a guide's link or image points in the app; None for what the app does not serve."""
    if address.startswith(("https://", "http://")):
        return address
    if image := _IMAGE_ADDRESS.match(address):
        return reverse("guide_image", args=[image.group(1) or image.group(2), image.group(3)])
    if (link := _ADDRESS.match(address)) and (link.group("page") or link.group("anchor")):
        page = link.group("page")
        base = _page_url(page) if page else ""
        return base + (link.group("anchor") or "")
    return None


def _title(text: str, fallback: str) -> str:
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), fallback)


@login_required
@require_GET
def guide(request, page: str = ""):
    """/ajuda/ is the index (README.md); /ajuda/<page>/ one of the other pages, named in lower case."""
    if page and not _PAGE.match(page):
        raise Http404
    page = page or INDEX
    source = GUIDE_DIR / f"{page}.md"
    if not source.is_file():
        raise Http404
    text = source.read_text(encoding="utf-8")
    pages = [
        {"url": _page_url(p.stem), "title": _title(p.read_text(encoding="utf-8"), p.stem), "current": p.stem == page}
        for p in sorted(GUIDE_DIR.glob("*.md"), key=lambda p: (p.stem != INDEX, p.stem))
        if p.stem == INDEX or _PAGE.match(p.stem)
    ]
    context = {"title": _title(text, page), "body": render_markdown(text, resolve), "pages": pages}
    return render(request, "guide.html", context)


@login_required
@require_GET
def guide_image(request, folder: str, name: str):
    directory = IMAGE_DIRS.get(folder)
    if directory is None or not _IMAGE_NAME.match(name) or not (directory / name).is_file():
        raise Http404
    response = FileResponse((directory / name).open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
