"""/relatorios/ and its two CSVs as every named user; the page and the exports on the known history."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from reports import exports
from tests.reports.history import build

pytestmark = pytest.mark.django_db

URLS = ["/relatorios/", "/relatorios/export.csv", "/relatorios/atendimentos.csv"]
RANGE = "?periodo=custom&inicio=2026-03-02&fim=2026-03-04"
EXPECTED = {  # who → status on every report URL
    "anonymous": 302,
    "agent1": 403,
    "agent2": 403,
    "agent3": 403,
    "outsider_agent": 403,
    "reseller_user": 200,
    "outsider_reseller": 200,
    "admin_user": 200,
}


@pytest.fixture
def people(agent1, agent2, agent3, reseller_user, admin_user, outsider):
    return {
        "anonymous": None,
        "agent1": agent1,
        "agent2": agent2,
        "agent3": agent3,
        "reseller_user": reseller_user,
        "admin_user": admin_user,
        "outsider_agent": outsider.agent,
        "outsider_reseller": outsider.reseller_user,
    }


@pytest.fixture
def history(tenant, meta_conn, agent1, agent2, agent3, outsider):
    return build(tenant, meta_conn, agent1, agent2, agent3, outsider)


def _read(response) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("who", list(EXPECTED))
def test_report_matrix(client, people, history, who):
    if people[who] is not None:
        client.force_login(people[who])
    for url in URLS:
        response = client.get(url + RANGE)
        assert response.status_code == EXPECTED[who], (url, who)
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")
        if response.status_code == 200:
            body = _read(response)
            # The demo tenant's client numbers never appear for the outsider, nor the outsider's for demo.
            demo_phone = history["T1"].client.phone
            assert (demo_phone in body) == (who != "outsider_reseller" and url.endswith("atendimentos.csv"))
        assert client.post(url).status_code == 405  # require_GET answers before the login check


def test_page_shows_the_figures_charts_and_tables(client, reseller_user, history):
    client.force_login(reseller_user)
    page = client.get("/relatorios/" + RANGE).content.decode()
    assert 'id="kpi-opened">5<' in page and 'id="kpi-closed">4<' in page and 'id="kpi-waiting">1<' in page
    assert "2 min 00 s" in page  # first response median, 120 s
    assert "1 h 00 min" in page  # resolution median, 3600 s
    assert "4,0 / 5" in page  # satisfaction (pt-BR decimal comma)
    assert page.count('<svg class="chart"') == 5 and page.count('role="img"') == 5
    assert page.count('<table class="numbers"') == 5
    assert "cdn" not in page.lower() and "<script" not in page.split("</head>")[1]


def test_admin_chooses_the_tenant_and_a_foreign_filter_is_refused(client, admin_user, reseller_user, history, outsider):
    client.force_login(admin_user)
    page = client.get(f"/relatorios/{RANGE}&revenda={outsider.reseller.pk}").content.decode()
    assert 'id="kpi-opened">2<' in page and "Outra" in page
    client.force_login(reseller_user)
    # A reseller cannot switch tenant, and another tenant's connection is not a valid choice.
    page = client.get(f"/relatorios/{RANGE}&revenda={outsider.reseller.pk}&conexao={outsider.connection.pk}")
    assert 'id="kpi-opened">5<' in page.content.decode()


def test_figure_csv(client, reseller_user, history):
    client.force_login(reseller_user)
    response = client.get("/relatorios/export.csv" + RANGE)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    total = rows[1]
    assert total[0] == "total" and total[2:12] == ["5", "", "4", "1", "120", "600", "3600", "46800", "4.0", "2"]
    days = [r for r in rows if r[0] == "dia"]
    assert [(r[1], r[2], r[4]) for r in days] == [
        ("2026-03-02", "2", "3"),
        ("2026-03-03", "2", "0"),
        ("2026-03-04", "1", "1"),
    ]
    agent1 = next(r for r in rows if r[0] == "agente" and r[1] == "Agente 1")
    assert agent1[2:5] == ["2", "2", "3"]


@pytest.mark.parametrize("path", ["/relatorios/export.csv", "/relatorios/atendimentos.csv"])
def test_a_csv_with_an_invalid_filter_is_400_not_unfiltered_figures(client, reseller_user, history, outsider, path):
    client.force_login(reseller_user)
    foreign = client.get(path + RANGE + f"&departamento={outsider.department.pk}")
    assert foreign.status_code == 400 and "departamento" in foreign.content.decode()
    reversed_range = client.get(path + "?periodo=custom&inicio=2026-03-08&fim=2026-03-01")
    assert reversed_range.status_code == 400
    assert client.get(path + RANGE).status_code == 200


def test_ticket_csv_is_streamed_one_row_per_ticket(client, reseller_user, history, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 2)  # several keyset pages on a small history
    client.force_login(reseller_user)
    response = client.get("/relatorios/atendimentos.csv" + RANGE)
    assert isinstance(response, StreamingHttpResponse)
    rows = list(csv.reader(io.StringIO(_read(response).lstrip("\ufeff"))))
    assert len(rows) == 1 + 5  # T1..T5 opened in the range; T6 (opened Sunday) is not
    ids = [r[0] for r in rows[1:]]
    assert ids == [str(history[k].pk) for k in ("T1", "T2", "T3", "T4", "T5")]
    t1 = rows[1]
    assert t1[7] == "2026-03-02 10:00:00" and t1[11:14] == ["60", "3600", "5"]
    assert rows[4][11:14] == ["", "", ""]  # T4: waiting, no reply


def test_csv_cells_cannot_be_formulas():
    assert exports.cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and exports.cell("Maria") == "Maria"
    assert exports.cell(5) == 5


def test_excel_csvs_use_semicolons_decimal_commas_and_hh_mm(client, reseller_user, history):
    client.force_login(reseller_user)
    response = client.get("/relatorios/export.csv" + RANGE + "&formato=excel")
    body = response.content.decode()
    assert body.startswith("\ufeff") and "-excel.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][6] == "primeira resposta mediana (hh:mm)"
    # 120 s, 600 s, 3600 s, 46800 s; an average of 4.0
    expected = ["5", "", "4", "1", "00:02", "00:10", "01:00", "13:00", "4,00", "2"]
    assert rows[1][0] == "total" and rows[1][2:12] == expected

    tickets = client.get("/relatorios/atendimentos.csv" + RANGE + "&formato=excel")
    rows = list(csv.reader(io.StringIO(_read(tickets).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][11] == "primeira resposta (hh:mm)" and rows[1][11:14] == ["00:01", "01:00", "5"]

    page = client.get("/relatorios/" + RANGE).content.decode()
    assert "atendimentos.csv?periodo=custom&amp;inicio=2026-03-02&amp;fim=2026-03-04&amp;formato=excel" in page


def test_the_period_select_shows_the_period_the_page_shows(client, reseller_user, history):
    client.force_login(reseller_user)
    for query in ("", "?periodo=custom&inicio=2026-03-08&fim=2026-03-01"):  # first visit; a refused range
        page = client.get("/relatorios/" + query).content.decode()
        assert '<option value="7d" selected>' in page and '<option value="hoje" selected>' not in page
    page = client.get("/relatorios/" + RANGE).content.decode()
    assert '<option value="custom" selected>' in page
