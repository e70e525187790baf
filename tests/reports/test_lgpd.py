"""A client's data on request (LGPD): the ZIP holds what the client gave and what was said to them (not the
team's internal notes), changes nothing, and is logged."""

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from accounts.models import Client, Tag
from reports import lgpd
from tests import factories as f
from tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria(tenant, meta_conn, agent1, outsider):
    client = f.make_client(tenant.reseller, wa_id="5511955550001", name="Maria")
    f.make_ticket(meta_conn, client=client, text="primeira", agent=agent1, closed_by=agent1)
    f.make_ticket(meta_conn, client=client, text="segunda")
    f.make_ticket(meta_conn, text="de outro cliente")
    return client


def _snapshot():
    return [list(m.objects.order_by("pk").values()) for m in (Client, Ticket, Message)], TicketEvent.objects.exclude(
        action="data_exported"
    ).count()


def test_the_zip_holds_the_profile_tickets_messages_events_and_files(maria, agent1):
    @lgpd.register_file_source
    def one_file(client, messages):
        yield lgpd.ExportFile(name="audio.ogg", open=lambda: io.BytesIO(b"OggS"), source="test", message_id="m1")

    try:
        before = _snapshot()
        out = io.BytesIO()
        counts = lgpd.client_export(client=maria, out=out, by=agent1)
    finally:
        lgpd._FILE_SOURCES.remove(one_file)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert sorted(archive.namelist()) == ["client.json", "files/audio.ogg"]
    data = json.loads(archive.read("client.json"))
    assert data["client"]["name"] == "Maria" and data["client"]["wa_id"] == "5511955550001"
    assert [t["messages"][0]["text"] for t in data["tickets"]] == ["primeira", "segunda"]
    assert {e["action"] for e in data["tickets"][0]["events"]} == {"created", "message", "claimed", "closed"}
    assert "de outro cliente" not in archive.read("client.json").decode()
    assert counts == {"tickets": 2, "messages": 2, "events": 6, "files": 1}
    assert archive.read("files/audio.ogg") == b"OggS"
    # Nothing changed; the export is logged on each of the client's tickets.
    assert _snapshot() == before
    logged = TicketEvent.objects.filter(action="data_exported")
    assert logged.count() == 2 and {e.ticket.client_id for e in logged} == {maria.pk}
    assert all(e.actor_id == agent1.pk for e in logged)


def test_the_zip_holds_the_stored_media_of_the_clients_messages(maria, meta_conn):
    from tickets import services
    from tickets.media import store as media

    ticket = Ticket.objects.filter(client=maria, status="open").get()
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(jpeg, "JPEG")
    photo = media.media_file_store(jpeg.getvalue(), reseller_id=maria.reseller_id, claimed_mime="image/jpeg")
    pdf = media.media_file_store(b"%PDF-1.4 boleto", reseller_id=maria.reseller_id, claimed_mime="application/pdf")
    for pid, stored, meta in (
        ("wamid.foto", photo, {"id": "m1", "mime_type": "image/jpeg"}),
        ("wamid.pdf", pdf, {"id": "m2", "filename": "../boleto março.pdf"}),
    ):
        kind = Message.Kind.IMAGE if stored is photo else Message.Kind.DOCUMENT
        msg = services.InboundMessage(provider_message_id=pid, kind=kind, raw_type=kind, media=meta)
        stored_msg = services.message_store(ticket=ticket, msg=msg)
        Message.objects.filter(pk=stored_msg.pk).update(media_file=stored)
    other = f.make_ticket(meta_conn, text="outro")
    services.message_store(
        ticket=other,
        msg=services.InboundMessage(provider_message_id="wamid.x", kind="image", raw_type="image", media={"id": "m3"}),
    )
    Message.objects.filter(provider_message_id="wamid.x").update(media_file=photo)  # another client's: not in it

    out = io.BytesIO()
    counts = lgpd.client_export(client=maria, out=out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    by_message = {str(m.pk): m for m in Message.objects.filter(ticket=ticket, media_file__isnull=False)}
    names = sorted(n for n in archive.namelist() if n.startswith("files/"))
    assert counts["files"] == 2 and len(names) == 2
    pdf_name = next(n for n in names if n.endswith(".pdf"))
    assert pdf_name.endswith("-boleto março.pdf") and archive.read(pdf_name) == b"%PDF-1.4 boleto"
    jpg_name = next(n for n in names if n != pdf_name)
    assert jpg_name.endswith(".jpg") and archive.read(jpg_name) == jpeg.getvalue()
    listed = json.loads(archive.read("client.json"))["files"]
    assert {e["message_id"] for e in listed} == set(by_message) and {e["source"] for e in listed} == {"media"}


def test_management_command(maria, tmp_path, capsys):
    target = tmp_path / "maria.zip"
    call_command("export_client_data", "5511955550001", "--reseller", "demo", "--out", str(target))
    assert "2 tickets, 2 messages" in capsys.readouterr().out
    assert json.loads(zipfile.ZipFile(target).read("client.json"))["client"]["name"] == "Maria"
    with pytest.raises(Exception, match="exists"):
        call_command("export_client_data", "5511955550001", "--out", str(target))


def test_admin_action_is_scoped_to_the_tenant(client, maria, reseller_user, outsider):
    url = reverse("admin:accounts_client_changelist")
    client.force_login(reseller_user)
    response = client.post(url, {"action": "export_client_data", "_selected_action": [maria.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.streaming and response["Content-Disposition"].startswith('attachment; filename="iaze-cliente-')
    content = b"".join(response.streaming_content)
    assert json.loads(zipfile.ZipFile(io.BytesIO(content)).read("client.json"))["client"]["name"] == "Maria"
    client.force_login(outsider.reseller_user)  # another tenant's client is not in their queryset
    response = client.post(url, {"action": "export_client_data", "_selected_action": [maria.pk]})
    assert response["Content-Type"] != "application/zip"
    assert TicketEvent.objects.filter(action="data_exported").count() == 2


def test_internal_notes_are_not_in_the_export(maria, agent1, tenant):
    """Security round three: the export copied internal notes word for word. A note is the team's own
    record, never sent to the client: neither it nor its event is in the archive; the conversation is."""
    from tickets import services

    ticket = Ticket.objects.get(client=maria, status="open")
    ticket = services.ticket_claim(ticket=ticket, agent=agent1)
    services.ticket_reply(ticket=ticket, agent=agent1, text="Bom dia, Maria! Já verifico.")
    note = services.ticket_note_add(ticket=ticket, by=agent1, text="NOTA-SIGILOSA: a vizinha dela ligou reclamando")
    vip, boleto = (Tag.objects.create(reseller=tenant.reseller, name=name) for name in ("VIP", "Boleto"))
    services.ticket_tag_set(ticket=ticket, by=agent1, tag=vip.pk, on=True, target="client")
    services.ticket_tag_set(ticket=ticket, by=agent1, tag=boleto.pk, on=True)

    out = io.BytesIO()
    counts = lgpd.client_export(client=maria, out=out, by=agent1)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"NOTA-SIGILOSA" not in everything and b"vizinha" not in everything
    assert str(note.pk).encode() not in everything  # not even its id, through the note's event
    data = json.loads(archive.read("client.json"))
    assert data["format"] == "iaze-client-export/2" and data["excluded"] == ["internal_notes"]
    exported = [m for t in data["tickets"] for m in t["messages"]]
    assert {m["direction"] for m in exported} == {"in", "out"}
    assert [m["text"] for m in exported] == ["primeira", "segunda", "Bom dia, Maria! Já verifico."]
    assert all(e["action"] != "note" for t in data["tickets"] for e in t["events"])
    assert all("last_change" not in t for t in data["tickets"])
    assert counts["messages"] == 3
    assert data["client"]["tags"] == ["VIP"] and [t["tags"] for t in data["tickets"]] == [[], ["Boleto"]]
    # The team still reads the note in the ticket's history.
    assert Message.objects.get(pk=note.pk).text.startswith("NOTA-SIGILOSA")
