"""The user guide (docs/guia/) behind the workspace's "Ajuda" link: served to logged-in users only, every
link and image of its pages pointing at something the app serves, and its Markdown rendered escaped."""

import re

import pytest

from iaze.guide import GUIDE_DIR, IMAGE_DIRS, resolve
from iaze.lib.markdown import render

PAGES = sorted(GUIDE_DIR.glob("*.md"))


def test_the_help_link_of_the_workspace_opens_the_guide(client, agent1):
    client.force_login(agent1)
    queue = client.get("/tickets/").content.decode()
    assert re.search(r'<a href="/ajuda/" id="help-link">Ajuda</a>', queue)
    page = client.get("/ajuda/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1" in html and "Guia do IAZE</h1>" in html and "<title>Guia do IAZE" in html
    for name in ("agente", "supervisor", "revenda"):
        assert f'href="/ajuda/{name}/"' in html


@pytest.mark.parametrize("name, title", [("agente", "Guia do agente"), ("supervisor", "Guia do supervisor")])
def test_each_page_renders_with_its_title_and_its_screenshots(client, agent1, name, title):
    client.force_login(agent1)
    html = client.get(f"/ajuda/{name}/").content.decode()
    assert f"{title}</h1>" in html and "<table>" in html
    images = re.findall(r'<img src="(/ajuda/[^"]+)"', html)
    assert images
    for src in images:
        answer = client.get(src)
        assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
        assert b"".join(answer.streaming_content).startswith(b"\x89PNG")


def test_the_reseller_page_shows_the_first_day_screenshots(client, reseller_user):
    client.force_login(reseller_user)
    html = client.get("/ajuda/revenda/").content.decode()
    assert 'src="/ajuda/img/05-qr-code.png"' in html and "Conectar WhatsApp" in html
    admin = client.get("/admin/").content.decode()
    assert 'href="/ajuda/revenda/"' in admin  # the first-run checklist points at it


def test_only_logged_in_users_and_only_the_guides_files(client, agent1):
    assert client.get("/ajuda/")["Location"].startswith("/accounts/login/")
    assert client.get("/ajuda/img/01-primeiros-passos.png")["Location"].startswith("/accounts/login/")
    client.force_login(agent1)
    for url in (
        "/ajuda/nada/",
        "/ajuda/README/",
        "/ajuda/img/nada.png",
        "/ajuda/img/..%2F..%2Fsettings.py",
        "/ajuda/img/README.md",
        "/ajuda/outra/queue.png",
        "/ajuda/screenshots/..%2Fguia%2FREADME.md",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/ajuda/").status_code == 405


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_and_image_of_the_guide_points_at_something_served(page):
    for address in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        target = resolve(address)
        assert target, f"{page.name}: {address} is not served by the app"
        if image := re.match(r"^(?:\./)?(?:(img)|\.\./(screenshots))/(.+)$", address):
            assert (IMAGE_DIRS[image.group(1) or image.group(2)] / image.group(3)).is_file(), address
        elif ".md" in address:
            assert (GUIDE_DIR / address.split("#")[0]).is_file(), address


def test_markdown_is_escaped_and_unknown_addresses_are_dropped():
    html = render(
        "# T <b>\n\nA <script>x</script> [ok](agente.md) [bad](https://x.test/a) [worse](/admin/) "
        "![alt](../../x.png) ![shot](img/01-primeiros-passos.png)\n\n"
        "- one\n  two\n- `<i>` **bold**\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n| not a table",
        resolve,
    )
    assert '<h1 id="t-b">T &lt;b&gt;</h1>' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert '<a href="/ajuda/agente/">ok</a>' in html and '<a href="https://x.test/a">bad</a>' in html
    assert "<a>worse</a>" in html  # an address the guide does not serve loses its link, keeps its text
    assert "x.png" not in html and " alt " in html  # an image the app does not serve is its alt text
    assert re.search(r'<img src="/ajuda/img/01-primeiros-passos.png" alt="shot" loading="lazy"', html)
    assert "<li><code>&lt;i&gt;</code> <strong>bold</strong></li>" in html
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>a</th>", html) and "<td>2</td>" in html
    assert html.rstrip().endswith("<p>| not a table</p>")
