"""Issue 27, item 6: the window chip says until when (with the day), a location message links to a map."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from iaze.lib import clock
from tests import factories as f
from tests.support.webhooks import meta_sample, post_meta
from tests.tickets.conftest import url
from tickets.models import Message, Ticket
from tickets.reads.conversation import until_text, window_info
from tickets.templatetags.maps import map_url

pytestmark = pytest.mark.django_db


def test_the_window_chip_names_the_day_in_the_local_time_zone(settings):
    settings.TIME_ZONE = "America/Sao_Paulo"  # UTC-3, no daylight saving
    with timezone.override("America/Sao_Paulo"):
        morning = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
        assert until_text(datetime(2026, 12, 7, 21, 5, tzinfo=UTC), morning) == "até hoje 18:05"
        assert until_text(datetime(2026, 12, 8, 17, 32, tzinfo=UTC), morning) == "até amanhã 14:32"
        assert until_text(datetime(2026, 12, 9, 13, 0, tzinfo=UTC), morning) == "até 09/12 10:00"
        # 23:30 in São Paulo is already the next day in UTC: the day is the local one, not UTC's.
        late = datetime(2026, 12, 8, 2, 30, tzinfo=UTC)
        assert until_text(datetime(2026, 12, 8, 2, 50, tzinfo=UTC), late) == "até hoje 23:50"
        assert until_text(datetime(2026, 12, 8, 3, 10, tzinfo=UTC), late) == "até amanhã 00:10"
        with translation.override("en"):
            assert until_text(datetime(2026, 12, 8, 17, 32, tzinfo=UTC), morning) == "until tomorrow 14:32"
            assert until_text(datetime(2026, 12, 7, 21, 5, tzinfo=UTC), morning) == "until today 18:05"


def test_the_conversation_shows_until_when_the_window_is_open_and_nothing_once_closed(client, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(agent1)
    end = Ticket.objects.get(pk=ticket.pk).last_inbound_at + timedelta(hours=24)
    page = client.get(url(ticket)).content.decode()
    # Opened now, the window closes tomorrow at this hour (São Paulo keeps no daylight saving).
    assert f"janela aberta até amanhã {timezone.localtime(end):%H:%M}" in page
    info = window_info(ticket, now=end + timedelta(minutes=1))
    assert info.applies and not info.open and info.until == ""
    assert window_info(ticket, now=clock.now()).until.startswith("até amanhã ")


def test_a_location_message_links_to_the_map_at_its_coordinates(client, meta_conn, agent1):
    assert post_meta(client, meta_conn, meta_sample("meta_location.json", meta_conn)).status_code == 200
    message = Message.objects.get(kind="location")
    client.force_login(agent1)
    page = client.get(url(message.ticket)).content.decode()
    link = "https://www.openstreetmap.org/?mlat=37.442215&amp;mlon=-122.161659#map=17/37.442215/-122.161659"
    assert f'href="{link}"' in page and 'rel="noopener noreferrer"' in page and "Ver no mapa" in page


@pytest.mark.parametrize(
    "media",
    [
        None,
        {},
        {"latitude": 10},  # no longitude
        {"latitude": "91", "longitude": "0"},  # not on Earth
        {"latitude": "0", "longitude": "-180.5"},
        {"latitude": "nan", "longitude": "1"},
        {"latitude": '1" onmouseover="x', "longitude": "2"},  # anything but a number is not pasted in
        "latitude=1&longitude=2",
    ],
)
def test_no_map_link_without_valid_coordinates(media):
    assert map_url(media) == ""
