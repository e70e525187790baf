"""Quick replies: the tenant's shortcuts, filled with {{nome}}, {{agente}}, {{protocolo}}; a no-JS select too."""

from tests.tickets.conftest import url
from tickets.models import QuickReply


def test_the_reply_box_lists_the_tenant_s_quick_replies_filled_in(client, world, tenant):
    QuickReply.objects.create(
        reseller=tenant.reseller, shortcut="ola", text="Olá {{nome}}, sou {{agente}}. Protocolo {{protocolo}}."
    )
    QuickReply.objects.create(reseller=tenant.reseller, department=tenant.financeiro, shortcut="/boleto", text="2ª via")
    QuickReply.objects.create(reseller=world.outsider.reseller, shortcut="/outra", text="de outra revenda")
    ticket = world.t["um"]
    client.force_login(world.agent1)
    html = client.get(url(ticket)).content.decode()
    expected = f"Olá Cliente Um, sou Agente 1. Protocolo {ticket.protocol}."
    assert 'data-shortcut="/ola"' in html and f'data-text="{expected}"' in html
    assert "/boleto" not in html and "/outra" not in html  # another department, another tenant
    assert 'id="quick-list"' in html and "quick_replies.js" in html and 'name="resposta"' in html


def test_without_javascript_the_select_fills_the_box(client, world, tenant):
    reply = QuickReply.objects.create(reseller=tenant.reseller, shortcut="/ola", text="Olá {{nome}}!")
    client.force_login(world.agent1)
    html = client.get(url(world.t["um"]) + f"?resposta={reply.pk}").content.decode()
    assert ">Olá Cliente Um!</textarea>" in html


def test_quick_replies_escape_what_the_reseller_wrote(client, world, tenant):
    QuickReply.objects.create(reseller=tenant.reseller, shortcut="/x", text='<img src=x onerror="alert(1)">')
    client.force_login(world.agent1)
    html = client.get(url(world.t["um"])).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_only_those_who_may_reply_get_them(client, world, tenant):
    QuickReply.objects.create(reseller=tenant.reseller, shortcut="/ola", text="Olá")
    client.force_login(world.agent2)
    assert "/ola" not in client.get(url(world.t["um"])).content.decode()


def test_the_admin_scopes_quick_replies_to_the_manager_s_tenant(client, world, tenant):
    mine = QuickReply.objects.create(reseller=tenant.reseller, shortcut="/minha", text="a")
    theirs = QuickReply.objects.create(reseller=world.outsider.reseller, shortcut="/deles", text="b")
    client.force_login(world.reseller_user)
    listing = client.get("/admin/tickets/quickreply/").content.decode()
    assert "/minha" in listing and "/deles" not in listing
    assert client.get(f"/admin/tickets/quickreply/{theirs.pk}/change/").status_code == 404
    response = client.post(
        "/admin/tickets/quickreply/add/",
        {"department": str(world.outsider.department.pk), "shortcut": "/nova", "text": "x", "active": "on"},
    )
    assert response.status_code == 200 and not QuickReply.objects.filter(shortcut="/nova").exists()
    response = client.post("/admin/tickets/quickreply/add/", {"shortcut": "nova", "text": "x", "active": "on"})
    assert response.status_code == 302
    assert QuickReply.objects.get(shortcut="/nova").reseller == tenant.reseller
    assert mine.pk
