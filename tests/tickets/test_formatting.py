"""WhatsApp's formatting in bubbles and previews: *bold*, _italic_, ~strike~, ```mono```, everything else escaped."""

import time

import pytest
from django.template import Context, Template

from accounts.models import ResellerConfig
from tests import factories as f
from tests.tickets.conftest import url
from tickets import services
from tickets.reads.formatting import whatsapp_html


@pytest.mark.parametrize(
    "text, html",
    [
        ("*negrito*", "<strong>negrito</strong>"),
        ("_itálico_", "<em>itálico</em>"),
        ("~riscado~", "<s>riscado</s>"),
        ("```mono *não* _formata_```", "<code>mono *não* _formata_</code>"),
        ("```linha 1\nlinha 2```", "<code>linha 1<br>linha 2</code>"),
        ("um *dois* três", "um <strong>dois</strong> três"),
        ("(*entre parênteses*), ok", "(<strong>entre parênteses</strong>), ok"),
        ("*_negrito e itálico_*", "<strong><em>negrito e itálico</em></strong>"),
        ("_*itálico e negrito*_", "<em><strong>itálico e negrito</strong></em>"),
        ("*Agente 1*:\nBom dia!", "<strong>Agente 1</strong>:<br>Bom dia!"),
        # Markers only at word boundaries, around a non-space, on one line.
        ("nome_do_arquivo.txt", "nome_do_arquivo.txt"),
        ("2*3*4", "2*3*4"),
        ("* solto*", "* solto*"),
        ("*solto *", "*solto *"),
        ("**", "**"),
        ("*duas\nlinhas*", "*duas<br>linhas*"),
        ("**dobrado**", "*<strong>dobrado</strong>*"),
        # Spans never overlap: what opens inside a span closes inside it or stays text.
        ("*a _b* c_", "<strong>a _b</strong> c_"),
        ("~a *b~ c*", "<s>a *b</s> c*"),
    ],
)
def test_whatsapps_markers_become_tags(text, html):
    assert whatsapp_html(text) == html


@pytest.mark.parametrize(
    "text, html",
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("*<b>x</b>*", "<strong>&lt;b&gt;x&lt;/b&gt;</strong>"),
        ('_<img src=x onerror="alert(1)">_', "<em>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</em>"),
        ("```</code><script>```", "<code>&lt;/code&gt;&lt;script&gt;</code>"),
        ("it's & *ok*", "it&#x27;s &amp; <strong>ok</strong>"),
        ("*&lt;já escapado&gt;*", "<strong>&amp;lt;já escapado&amp;gt;</strong>"),
    ],
)
def test_everything_else_is_escaped_even_inside_a_span(text, html):
    assert whatsapp_html(text) == html


def test_a_preview_is_one_line():
    assert whatsapp_html("*Oi*\ntudo bem?", inline=True) == "<strong>Oi</strong> tudo bem?"


def test_the_template_filter_escapes_and_formats():
    rendered = Template("{% load whatsapp_format %}{{ t|whatsapp }}|{{ t|whatsapp_inline }}").render(
        Context({"t": "*<i>x</i>*\ny"})
    )
    assert rendered == "<strong>&lt;i&gt;x&lt;/i&gt;</strong><br>y|<strong>&lt;i&gt;x&lt;/i&gt;</strong> y"


@pytest.mark.parametrize("text", ["*a " * 22000, "_~*" * 20000, "```a " * 13000, "*a* " * 16000])
def test_a_long_text_full_of_markers_is_formatted_in_linear_time(text):
    started = time.perf_counter()
    whatsapp_html(text)
    assert (
        time.perf_counter() - started < 5.0
    )  # generous: it takes a fraction of a second; a quadratic scan, far longer


@pytest.mark.django_db
def test_the_signature_and_the_clients_formatting_show_in_the_thread(client, meta_conn, agent1):
    ResellerConfig.objects.filter(reseller=meta_conn.reseller).update(reply_signature=True)
    ticket = f.make_ticket(meta_conn, text="Meu _pedido_ <b>123</b> não chegou", agent=agent1)
    services.ticket_reply(ticket=ticket, agent=agent1, text="Vou ~verificar~ ```agora```")
    client.force_login(agent1)
    html = client.get(url(ticket)).content.decode()
    assert "<strong>Agente 1</strong>:<br>Vou <s>verificar</s> <code>agora</code>" in html
    assert "*Agente 1*" not in html
    assert "Meu <em>pedido</em> &lt;b&gt;123&lt;/b&gt; não chegou" in html and "<b>123</b>" not in html


@pytest.mark.django_db
def test_the_queue_preview_shows_the_formatting_escaped(client, meta_conn, agent1):
    f.make_ticket(meta_conn, text="*Urgente*: <script>x</script> _hoje_")
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert '<span class="preview"><strong>Urgente</strong>: &lt;script&gt;x&lt;/script&gt; <em>hoje</em></span>' in html
