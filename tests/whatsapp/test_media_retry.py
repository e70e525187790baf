"""A failed media download fetched again (docs/media.md): the conversation's "Tentar de novo" button, the
admin action and `download_media --retry-failed`. Each re-queue is one conditional write: a double click
re-queues once, and the worker then stores the file once."""

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests import factories as f
from tests.whatsapp.conftest import post_meta
from tests.whatsapp.media_helpers import job_of, jpeg_bytes, media_url, meta_media, run_worker
from tickets.models import MediaDownload, MediaFile, Message, TicketEvent
from tickets.reads.presenters import media_failure_hint

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _retry_url(message) -> str:
    return reverse("tickets:media_retry", args=[message.ticket_id, message.pk])


def _failed_photo(client, fake, connection, settings, *, wa_id="5511988880001", color=(10, 200, 30)):
    """A client's photo whose download failed for good (Meta no longer has the media id). Returns
    (message, media id, the bytes the fake will serve once they are added)."""
    settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS = 1
    photo = jpeg_bytes(color=color)
    body, media_id = meta_media(connection, content=photo, caption="comprovante", wa_id=wa_id)
    assert post_meta(client, connection, body).status_code == 200
    message = Message.objects.get(connection=connection, direction="in", media__id=media_id)
    assert run_worker()["failed"] == 1  # the fake has no such id: Meta's "expired" answer
    job = job_of(message)
    assert job.state == MediaDownload.State.FAILED and job.attempts == 1
    return message, media_id, photo


def _retried_events(message) -> int:
    return TicketEvent.objects.filter(ticket_id=message.ticket_id, action=TicketEvent.Action.MEDIA_RETRIED).count()


def test_an_agent_retries_a_failed_download_with_the_button_and_the_worker_stores_it_once(
    client, fake, meta_live, agent1, settings
):
    message, media_id, photo = _failed_photo(client, fake, meta_live, settings)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent1)
    page = browser.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert "indisponível:" in page and "não está mais disponível" in page
    assert "Tentar de novo pode resolver; a Meta guarda os arquivos por 30 dias." in page
    form = page[page.index(f'action="{_retry_url(message)}"') :]
    form = form[: form.index("</form>")]
    assert 'hx-post="' + _retry_url(message) + '"' in form and "Tentar de novo" in form
    token = CSRF_INPUT.search(form).group(1)

    assert browser.post(_retry_url(message)).status_code == 403  # no CSRF token: refused, nothing moves
    assert job_of(message).state == MediaDownload.State.FAILED

    fake.add_media(media_id, photo, "image/jpeg")  # the file is available again
    first = browser.post(_retry_url(message), {"csrfmiddlewaretoken": token})
    assert first.status_code == 303 and first["Location"] == f"/tickets/{message.ticket_id}/"
    job = job_of(message)
    assert (job.state, job.attempts, job.error_code) == (MediaDownload.State.PENDING, 0, "100")
    event = TicketEvent.objects.get(ticket_id=message.ticket_id, action=TicketEvent.Action.MEDIA_RETRIED)
    assert event.actor_id == agent1.pk and event.data["message"] == str(message.pk)

    # A double click: the second POST finds the job pending and changes nothing.
    second = browser.post(_retry_url(message), {"csrfmiddlewaretoken": token})
    assert second.status_code == 303
    assert job_of(message).state == MediaDownload.State.PENDING and _retried_events(message) == 1
    assert "baixando…" in browser.get(f"/tickets/{message.ticket_id}/").content.decode()

    assert run_worker() == {"stored": 1, "retry": 0, "failed": 0, "skipped": 0}
    message.refresh_from_db()
    assert message.media_file.sha256 == hashlib.sha256(photo).hexdigest()
    assert MediaFile.objects.count() == 1
    assert Message.objects.filter(media_file=message.media_file).count() == 1
    assert job_of(message).state == MediaDownload.State.STORED

    # Nothing more: another click finds nothing failed, another pass nothing due.
    assert browser.post(_retry_url(message), {"csrfmiddlewaretoken": token}).status_code == 303
    assert run_worker() == {"stored": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert MediaFile.objects.count() == 1 and job_of(message).state == MediaDownload.State.STORED
    assert _retried_events(message) == 1
    page = browser.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert f'href="{media_url(message)}"' in page and _retry_url(message) not in page


def test_htmx_gets_the_thread_back(client, fake, meta_live, agent1, settings):
    message, _media_id, _photo = _failed_photo(client, fake, meta_live, settings)
    client.force_login(agent1)
    response = client.post(_retry_url(message), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="thread-live"') and "baixando…" in html
    assert _retry_url(message) not in html  # pending now: no button
    assert job_of(message).state == MediaDownload.State.PENDING


def test_get_is_refused(client, fake, meta_live, agent1, settings):
    message, _media_id, _photo = _failed_photo(client, fake, meta_live, settings)
    client.force_login(agent1)
    assert client.get(_retry_url(message)).status_code == 405
    assert job_of(message).state == MediaDownload.State.FAILED and _retried_events(message) == 0


def test_users_who_cannot_see_the_ticket_get_404_and_nothing_changes(
    client, fake, meta_live, outsider, agent3, settings
):
    message, _media_id, _photo = _failed_photo(client, fake, meta_live, settings)
    for user in (outsider.agent, outsider.reseller_user, agent3):  # another tenant; another department
        client.force_login(user)
        assert client.post(_retry_url(message)).status_code == 404
    client.logout()
    assert client.post(_retry_url(message)).status_code == 302  # to the login page
    job = job_of(message)
    assert (job.state, job.attempts) == (MediaDownload.State.FAILED, 1) and _retried_events(message) == 0


def test_a_message_of_another_ticket_is_404(client, fake, meta_live, agent1, settings):
    message, _media_id, _photo = _failed_photo(client, fake, meta_live, settings)
    other_ticket = f.make_ticket(meta_live)
    client.force_login(agent1)
    url = reverse("tickets:media_retry", args=[other_ticket.pk, message.pk])
    assert client.post(url).status_code == 404
    assert job_of(message).state == MediaDownload.State.FAILED and _retried_events(message) == 0


def test_a_file_refused_for_good_says_retrying_will_not_help(client, fake, meta_live, agent1, settings):
    settings.MEDIA_MAX_BYTES = 1000
    photo = jpeg_bytes()
    body, media_id = meta_media(meta_live, content=photo)
    fake.add_media(media_id, photo, "image/jpeg")
    assert post_meta(client, meta_live, body).status_code == 200
    assert run_worker()["failed"] == 1
    message = Message.objects.get(direction="in")
    assert job_of(message).error_code == "too_large"
    client.force_login(agent1)
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert "Tentar de novo não vai resolver" in page and "pode resolver" not in page
    assert _retry_url(message) in page  # still offered: the limit may have been raised since


@pytest.mark.parametrize(
    ("code", "final"),
    [
        ("too_large", True),
        ("unsafe_url", True),
        ("no_media_id", True),
        ("unsupported", True),
        ("timeout", False),
        ("http_500", False),
        ("url_expired", False),
        ("sha256_mismatch", False),
        ("connection", False),
        ("100", False),
        ("", False),
    ],
)
def test_the_hint_says_whether_a_retry_can_help(code, final):
    hint = media_failure_hint(code)
    assert ("não vai resolver" in hint) is final
    assert ("pode resolver" in hint) is not final


def test_the_command_retry_failed_requeues_then_runs_the_pass(client, fake, meta_live, tenant, settings):
    other = f.make_connection(
        tenant.reseller,
        tenant.suporte,
        key="live-meta-2",
        phone_number_id="100000000000009",
        api_base_url=fake.url + "/v21.0",
    )
    first, first_id, first_photo = _failed_photo(client, fake, meta_live, settings)
    second, second_id, second_photo = _failed_photo(
        client, fake, other, settings, wa_id="5511988880002", color=(200, 10, 30)
    )
    fake.add_media(first_id, first_photo, "image/jpeg")
    fake.add_media(second_id, second_photo, "image/jpeg")

    out = StringIO()
    call_command("download_media", "--retry-failed", "--connection", "live-meta", stdout=out)
    assert "re-queued 1 failed download(s)" in out.getvalue() and "stored=1" in out.getvalue()
    assert job_of(first).state == MediaDownload.State.STORED
    assert job_of(second).state == MediaDownload.State.FAILED  # another connection's: left alone

    out = StringIO()
    call_command("download_media", "--retry-failed", stdout=out)
    assert "re-queued 1 failed download(s)" in out.getvalue() and "stored=1" in out.getvalue()
    assert job_of(second).state == MediaDownload.State.STORED
    assert MediaFile.objects.count() == 2

    out = StringIO()
    call_command("download_media", "--retry-failed", stdout=out)  # nothing failed any more
    assert "re-queued 0 failed download(s)" in out.getvalue() and "stored=0" in out.getvalue()

    with pytest.raises(CommandError, match="no connection"):
        call_command("download_media", "--retry-failed", "--connection", "nope", stdout=StringIO())


def test_without_retry_failed_the_command_leaves_failed_downloads_alone(client, fake, meta_live, settings):
    message, media_id, photo = _failed_photo(client, fake, meta_live, settings)
    fake.add_media(media_id, photo, "image/jpeg")
    out = StringIO()
    call_command("download_media", stdout=out)
    assert "re-queued" not in out.getvalue() and "stored=0" in out.getvalue()
    assert job_of(message).state == MediaDownload.State.FAILED


def test_the_admin_action_still_requeues(client, fake, meta_live, admin_user, settings):
    message, media_id, photo = _failed_photo(client, fake, meta_live, settings)
    fake.add_media(media_id, photo, "image/jpeg")
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/message/",
        {"action": "retry_media_download", "_selected_action": [str(message.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 download de mídia voltou para a fila." in response.content.decode()
    job = job_of(message)
    assert (job.state, job.attempts) == (MediaDownload.State.PENDING, 0)
    assert run_worker()["stored"] == 1
    assert job_of(message).state == MediaDownload.State.STORED and MediaFile.objects.count() == 1
