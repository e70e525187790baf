"""A week of demo conversations for the demo tenant (`seed_demo --conversations`, docs/operations.md).

Every write goes through the services a real day goes through: a client's message through the one door
(`tickets.services.message_receive`, as the webhook hands it over), Assumir, replies, files, notes, tags,
transfers, Finalizar and the client's rating answer; a client's file is kept the way the worker keeps a
download (tickets.media.downloads). Two things only are the demo's own, both in `DemoClock`:

- the time: the conversations happened over the past days, so while the clock is entered every stamp the
  services take (iaze.lib.clock) is the demo's moment, as the report tests backdate their history;
- the provider: nothing is sent. Replies stay queued (no inline send) and are then recorded as sent and
  read under a demo provider id, through the outbox's own job queue and receipt writer, so the worker never
  sends a week-old reply to a made-up number.

Idempotent and resumable: each conversation is known by the provider id of its first message
(`demo-NNN-00`); one already stored is skipped. Nothing is deleted or rewritten.
"""

from __future__ import annotations

import random
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.test.utils import override_settings

from accounts.models import Department, Reseller, ResellerConfig, Tag, User
from iaze.lib import clock
from ops import demo_files
from providers.types import InboundMessage, MessageKind, Sender
from tickets import outbox, services
from tickets.media import downloads as media_downloads
from tickets.media import store as media_store
from tickets.models import MediaDownload, Message, Ticket
from tickets.queues import OUTBOX
from whatsapp.models import Connection

PER_DAY = 6  # closed conversations a day (half of it today, so far)
WAITING, IN_SERVICE = 4, 4  # still open now: in Espera, in Atendendo

NAMES = [
    "Maria Souza", "João Pereira", "Ana Oliveira", "Pedro Santos", "Carla Mendes", "Lucas Almeida",
    "Beatriz Costa", "Rafael Lima", "Juliana Rocha", "Marcos Ribeiro", "Fernanda Alves", "Gustavo Martins",
    "Patrícia Gomes", "Thiago Barbosa", "Camila Ferreira", "Bruno Carvalho", "Larissa Araújo", "Diego Nunes",
    "Aline Moreira", "Felipe Cardoso", "Renata Teixeira", "Rodrigo Dias", "Vanessa Castro", "André Freitas",
    "Simone Correia", "Eduardo Pinto", "Luana Monteiro", "Vinícius Ramos", "Priscila Duarte", "Leandro Farias",
]  # fmt: skip
TAGS = {
    "Lentidão": Tag.Color.ORANGE,
    "Aplicativo": Tag.Color.BLUE,
    "Wi-Fi": Tag.Color.TEAL,
    "Visita técnica": Tag.Color.PURPLE,
    "Boleto": Tag.Color.YELLOW,
    "Pagamento": Tag.Color.GREEN,
    "Negociação": Tag.Color.RED,
    "Cancelamento": Tag.Color.GRAY,
}

# One conversation as it unfolds. Steps: ("client", text), ("image", caption), ("audio", ""),
# ("claim", role), ("reply", text), ("doc", caption), ("note", text), ("tag", name),
# ("to_department", "Financeiro") (in Espera), ("to_agent", role) (in Atendendo; to the agent's department).
# Roles: "triage" (a Suporte agent), "other" (the other Suporte agent), "finance" (the Financeiro agent).
SCRIPTS: list[list[tuple[str, str]]] = [
    [
        ("client", "Boa tarde! Minha internet está muito lenta desde ontem"),
        ("client", "Já reiniciei o roteador duas vezes"),
        ("claim", "triage"),
        ("reply", "Olá! Sou do suporte, vou verificar sua conexão agora."),
        ("note", "Sinal da ONU em -27 dBm. Se não normalizar, abrir visita técnica."),
        ("tag", "Lentidão"),
        ("reply", "Fiz um ajuste no seu equipamento. Pode testar de novo, por favor?"),
        ("client", "Agora está ótimo, obrigado!"),
    ],
    [
        ("client", "Oi, aparece esse erro quando tento entrar no aplicativo"),
        ("image", "Print do erro"),
        ("claim", "triage"),
        ("reply", "Obrigado pelo print! Esse erro acontece quando o aplicativo está desatualizado."),
        ("reply", "Atualize pela loja e me avise se resolveu, por favor."),
        ("tag", "Aplicativo"),
        ("client", "Atualizei e funcionou 👍"),
    ],
    [
        ("client", "Bom dia"),
        ("audio", ""),
        ("claim", "triage"),
        ("reply", "Bom dia! Ouvi seu áudio: você quer trocar a senha do Wi-Fi, certo?"),
        ("client", "Isso mesmo"),
        ("doc", "Segue o passo a passo. Qualquer dúvida, estou por aqui."),
        ("tag", "Wi-Fi"),
        ("client", "Consegui, muito obrigada!"),
    ],
    [
        ("client", "Preciso agendar uma visita técnica"),
        ("claim", "triage"),
        ("reply", "Claro! Vou passar para o colega que cuida da agenda de visitas."),
        ("to_agent", "other"),
        ("reply", "Olá! Tenho horário amanhã às 9h ou às 14h. Qual prefere?"),
        ("client", "14h, por favor"),
        ("reply", "Agendado para amanhã às 14h ✅"),
        ("note", "Visita agendada com o técnico Carlos."),
        ("tag", "Visita técnica"),
    ],
    [
        ("client", "Esqueci a senha da área do cliente"),
        ("claim", "triage"),
        ("reply", "Sem problemas! Enviei um link para trocar a senha no seu e-mail cadastrado."),
        ("client", "Recebi, deu certo. Valeu!"),
    ],
    [
        ("client", "Olá, preciso da segunda via do boleto deste mês"),
        ("to_department", "Financeiro"),
        ("claim", "finance"),
        ("doc", "Olá! Segue a segunda via do seu boleto, com vencimento no dia 10."),
        ("tag", "Boleto"),
        ("client", "Obrigado!"),
    ],
    [
        ("client", "Fiz o pagamento por PIX, segue o comprovante"),
        ("image", "Comprovante PIX"),
        ("to_department", "Financeiro"),
        ("claim", "finance"),
        ("reply", "Recebido! O pagamento já foi baixado no sistema."),
        ("note", "Conferido no extrato bancário."),
        ("tag", "Pagamento"),
        ("client", "Perfeito"),
    ],
    [
        ("client", "Quero negociar uma fatura atrasada"),
        ("claim", "triage"),
        ("reply", "Vou transferir você para o Financeiro, que cuida das negociações."),
        ("to_agent", "finance"),
        ("reply", "Olá! Posso parcelar em até 3 vezes sem juros. Pode ser?"),
        ("client", "Pode sim, em 3 vezes"),
        ("reply", "Feito! Os boletos chegam no seu e-mail ainda hoje."),
        ("tag", "Negociação"),
    ],
    [
        ("client", "Gostaria de cancelar o adicional de TV do meu plano"),
        ("to_department", "Financeiro"),
        ("claim", "finance"),
        ("reply", "Entendi. O cancelamento do adicional foi registrado e vale a partir da próxima fatura."),
        ("tag", "Cancelamento"),
        ("client", "Ok, obrigada"),
    ],
]
RATING_ANSWERS = {5: ["5", "⭐⭐⭐⭐⭐", "5 estrelas"], 4: ["4", "nota 4"], 3: ["3"], 2: ["2"]}

PICTURES = {
    "Print do erro": ("#b91c1c", ["Erro 503", "Não foi possível conectar.", "Tente novamente mais tarde."]),
    "Comprovante PIX": ("#15803d", ["Comprovante PIX", "Valor: R$ 129,90", "Para: Revenda Demo"]),
}
DOCUMENTS = {
    "Segue o passo a passo": (
        "passo-a-passo-wifi.pdf",
        ["Como trocar a senha do Wi-Fi", "1. Acesse 192.168.0.1", "2. Wi-Fi > Senha"],
    ),
    "Olá! Segue a segunda via": (
        "boleto-segunda-via.pdf",
        ["Boleto (demonstração)", "Valor: R$ 129,90", "Vencimento: dia 10"],
    ),
}


class DemoClock:
    """The one place the demo writes in the past (see the module's docstring).

    While entered, iaze.lib.clock reads the demo's moment (`set`, through clock.reading),
    one millisecond later at each call so every stamp keeps its order; and replies are never sent inline.
    For a command's own process only: the clock is the process's."""

    def __init__(self) -> None:
        self._at = clock.now()
        self._ticks = 0

    def set(self, when: datetime) -> None:
        self._at, self._ticks = when, 0

    def _now(self) -> datetime:
        self._ticks += 1
        return self._at + timedelta(milliseconds=self._ticks)

    def __enter__(self) -> DemoClock:
        self._patches = ExitStack()
        self._patches.enter_context(clock.reading(self._now))
        self._patches.enter_context(override_settings(WHATSAPP_SEND_INLINE=False))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._patches.close()


@dataclass
class Plan:
    key: int
    script: list[tuple[str, str]]
    start: datetime
    end: str  # "closed", "espera" or "atendendo"
    connection: Connection
    client: int
    triage: User
    rating: int | None


@dataclass
class Demo:
    reseller: Reseller
    connections: list[Connection]
    agents: dict[str, User]
    departments: dict[str, Department]
    tags: dict[str, Tag]
    clock: DemoClock
    rng: random.Random
    made: Counter = field(default_factory=Counter)


def seed_conversations(*, reseller: Reseller, days: int = 7, seed: int = 2026) -> Counter:
    """The demo tenant's past `days` days of conversations (plus a few open now). Returns what was added."""
    rng = random.Random(seed)
    config = ResellerConfig.objects.get(reseller=reseller)
    _survey_on(config)
    tz = ZoneInfo(config.timezone or "America/Sao_Paulo")
    connections = list(Connection.objects.filter(reseller=reseller, key__in=["demo-meta", "demo-evolution"]))
    connections.sort(key=lambda c: c.key)
    agents = {u.email.split("@")[0]: u for u in User.objects.filter(reseller=reseller, role=User.Role.AGENT)}
    demo = Demo(
        reseller=reseller,
        connections=connections,
        agents=agents,
        departments={d.name: d for d in Department.objects.filter(reseller=reseller)},
        tags=_tags(reseller),
        clock=DemoClock(),
        rng=rng,
    )
    plans = _plans(demo, days=days, now=clock.now(), tz=tz)
    known = set(
        Message.objects.filter(
            connection_id__in=[c.pk for c in connections], provider_message_id__in=[_mid(p.key, 0) for p in plans]
        ).values_list("provider_message_id", flat=True)
    )
    with demo.clock:
        for plan in plans:
            if _mid(plan.key, 0) in known:
                demo.made["skipped"] += 1
                continue
            _play(demo, plan)
            demo.made["conversations"] += 1
    return demo.made


def _survey_on(config: ResellerConfig) -> None:
    """Ratings come from the satisfaction survey: the demo tenant asks for one (its own setting, kept on)."""
    if config.satisfaction_enabled and config.satisfaction_question_text.strip():
        return
    config.satisfaction_enabled = True
    if not config.satisfaction_question_text.strip():
        config.satisfaction_question_text = ResellerConfig._meta.get_field("satisfaction_question_text").default
    config.save(update_fields=["satisfaction_enabled", "satisfaction_question_text", "updated_at"])


def _tags(reseller: Reseller) -> dict[str, Tag]:
    found = {t.name: t for t in Tag.objects.filter(reseller=reseller, name__in=list(TAGS))}
    for name, color in TAGS.items():
        if name not in found:
            found[name] = Tag.objects.create(reseller=reseller, name=name, color=color)
    return found


def _plans(demo: Demo, *, days: int, now: datetime, tz: ZoneInfo) -> list[Plan]:
    """Closed conversations in office hours over the days, oldest first; then the open ones of the last hours.
    Drawn in a fixed order from the seeded generator: the same options give the same week."""
    rng = demo.rng
    today = now.astimezone(tz).date()
    starts: list[tuple[datetime, str]] = []
    for back in range(days - 1, 0, -1):
        day: date = today - timedelta(days=back)
        for _slot in range(PER_DAY):
            starts.append((datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=tz), "closed"))
    starts.sort()
    # Today's closed ones a few hours back, whatever the hour it runs at: the same options always plan the same
    # number of conversations, so their keys (`_mid`) stay the same from one run to the next.
    starts += sorted((now - timedelta(minutes=rng.randint(300, 600)), "closed") for _ in range(PER_DAY // 2))
    starts += [(now - timedelta(minutes=rng.randint(70, 200)), "atendendo") for _ in range(IN_SERVICE)]
    starts += [(now - timedelta(minutes=rng.randint(20, 55)), "espera") for _ in range(WAITING)]
    suporte = [demo.agents[k] for k in ("agente1", "agente2") if k in demo.agents]
    # Every script once in any run of len(SCRIPTS) conversations: even a short week has each kind.
    order = rng.sample(range(len(SCRIPTS)), len(SCRIPTS))
    plans = []
    for key, (start, end) in enumerate(starts):
        score = rng.choice([5, 5, 5, 4, 4, 3, 2]) if rng.random() < 0.75 else None
        plans.append(
            Plan(
                key=key,
                script=SCRIPTS[order[key % len(SCRIPTS)]],
                start=start,
                end=end,
                connection=rng.choice(demo.connections),
                client=key % len(NAMES),
                triage=rng.choice(suporte),
                rating=score if end == "closed" else None,
            )
        )
    return plans


def _mid(key: int, step: int | str) -> str:
    return f"demo-{key:03d}-{step:02d}" if isinstance(step, int) else f"demo-{key:03d}-{step}"


def _steps(plan: Plan) -> list[tuple[str, str]]:
    """The script, cut where the open conversations stand now: Espera before the first Assumir; Atendendo
    after the first answer, sometimes with the client's next message still unanswered."""
    script = plan.script
    claim = next(n for n, (what, _) in enumerate(script) if what == "claim")
    if plan.end == "espera":
        return script[:claim]
    if plan.end == "atendendo":
        answered = next(n for n, (what, _) in enumerate(script) if n > claim and what in ("reply", "doc"))
        cut = answered + 1
        if cut < len(script) and script[cut][0] == "client" and plan.key % 2:
            cut += 1
        return script[:cut]
    return script


class _Conversation:
    def __init__(self, demo: Demo, plan: Plan) -> None:
        self.demo, self.plan = demo, plan
        self.at = plan.start
        self.ticket: Ticket | None = None
        self.holder: User | None = None
        number = f"55119870{plan.client:05d}"
        self.sender = Sender(wa_id=number, phone=number, name=NAMES[plan.client])

    def wait(self, low: int, high: int) -> None:
        """The conversation moves on by low..high seconds."""
        self.at += timedelta(seconds=self.demo.rng.randint(low, high))
        self.demo.clock.set(self.at)

    def fresh(self) -> Ticket:
        assert self.ticket is not None
        self.ticket = Ticket.objects.select_related("agent", "department", "connection", "reseller", "client").get(
            pk=self.ticket.pk
        )
        return self.ticket

    def role(self, name: str) -> User:
        agents = self.demo.agents
        if name == "finance":
            return agents["agente3"]
        if name == "other":
            return next(u for k, u in agents.items() if k in ("agente1", "agente2") and u != self.plan.triage)
        return self.plan.triage


def _play(demo: Demo, plan: Plan) -> None:
    talk = _Conversation(demo, plan)
    demo.clock.set(talk.at)
    for n, (what, value) in enumerate(_steps(plan)):
        if what in ("client", "image", "audio"):
            if n:
                talk.wait(20, 150)
            _client_says(demo, talk, _mid(plan.key, n), what, value)
            continue
        if what in ("claim", "to_department"):
            talk.wait(30, 600)  # the queue's wait
        else:
            talk.wait(40, 240)
        ticket = talk.fresh()
        if what == "claim":
            talk.holder = talk.role(value)
            services.ticket_claim(ticket=ticket, agent=talk.holder)
        elif what == "reply":
            _read_before_answering(talk, ticket)
            services.ticket_reply(ticket=ticket, agent=talk.holder, text=value)
        elif what == "doc":
            _read_before_answering(talk, ticket)
            _send_document(demo, talk, ticket, value)
        elif what == "note":
            services.ticket_note_add(ticket=ticket, by=talk.holder, text=value)
            demo.made["notes"] += 1
        elif what == "tag":
            services.ticket_tag_set(ticket=ticket, by=talk.holder, tag=demo.tags[value].pk, on=True)
        elif what == "to_department":
            services.ticket_transfer(ticket=ticket, by=plan.triage, department=str(demo.departments[value].pk))
            demo.made["transfers"] += 1
        elif what == "to_agent":
            target = talk.role(value)
            department = next(iter(target.departments.all()), None)
            services.ticket_transfer(
                ticket=ticket, by=talk.holder, agent=str(target.pk), department=str(department.pk) if department else ""
            )
            talk.holder = target
            demo.made["transfers"] += 1
        _record_sent(demo, talk)
    if plan.end == "closed":
        talk.wait(60, 900)
        services.ticket_close(ticket=talk.fresh(), by=talk.holder)
        _record_sent(demo, talk)
        if plan.rating is not None:
            talk.wait(30, 1200)
            answer = demo.rng.choice(RATING_ANSWERS[plan.rating])
            _client_says(demo, talk, _mid(plan.key, "r"), "client", answer)
            _record_sent(demo, talk)
            demo.made["ratings"] += 1
    demo.made[plan.end] += 1


def _read_before_answering(talk: _Conversation, ticket: Ticket) -> None:
    """The holder read the client's messages before answering (the conversation page's read mark), so the
    inbox counts as unread only what came after the last answer."""
    newest = (
        Message.objects.filter(ticket_id=ticket.pk, direction=Message.Direction.IN)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    services.ticket_read_mark(ticket=ticket, agent=talk.holder, upto=newest)


def _client_says(demo: Demo, talk: _Conversation, mid: str, what: str, value: str) -> None:
    """A client's message, handed to the door the way the webhook hands it over; a file is then kept the
    way the worker keeps a download, so the message shows its picture or plays."""
    kind: str = MessageKind.TEXT
    media: dict[str, Any] | None = None
    if what == "image":
        kind, media = MessageKind.IMAGE, {"id": f"{mid}-media", "mime_type": "image/png", "caption": value}
    elif what == "audio":
        kind, media = MessageKind.AUDIO, {"id": f"{mid}-media", "mime_type": "audio/wav", "voice": True}
    message = InboundMessage(
        provider_message_id=mid,
        kind=kind,
        text=value if what == "client" else "",
        media=media,
        timestamp=talk.at,
        raw_type=kind,
    )
    services.message_receive(connection=talk.plan.connection, sender=talk.sender, message=message)
    stored = Message.objects.by_provider_id(talk.plan.connection, mid).first()
    if stored is not None and talk.ticket is None:
        talk.ticket = Ticket.objects.get(pk=stored.ticket_id)
    if stored is not None and media is not None:
        _keep_download(demo, stored, what, value)


def _keep_download(demo: Demo, message: Message, what: str, caption: str) -> None:
    job = MediaDownload.objects.filter(message=message).first()
    lease = media_downloads.download_claim(job.pk, ignore_backoff=True) if job is not None else None
    if job is None or lease is None:
        return
    if what == "image":
        background, lines = PICTURES.get(caption, ("#0f766e", [caption or "Foto"]))
        data, mime = demo_files.picture(background, lines), "image/png"
    else:
        data, mime = demo_files.voice_note(), "audio/wav"
    stored = media_store.media_file_store(data, reseller_id=demo.reseller.pk, claimed_mime=mime)
    media_downloads.download_succeeded(job, lease, stored, claimed_mime=mime)
    demo.made["media"] += 1


def _send_document(demo: Demo, talk: _Conversation, ticket: Ticket, caption: str) -> None:
    filename, lines = next((v for k, v in DOCUMENTS.items() if caption.startswith(k)), ("documento.pdf", [caption]))
    stored = media_store.media_file_store(
        demo_files.pdf(lines), reseller_id=demo.reseller.pk, claimed_mime="application/pdf"
    )
    attachment = services.StoredAttachment(media_file=stored, filename=filename, mime_type="application/pdf")
    services.ticket_reply_files(ticket=ticket, agent=talk.holder, files=[(attachment, caption)])
    demo.made["media"] += 1


def _record_sent(demo: Demo, talk: _Conversation) -> None:
    """What the ticket queued (replies, files, the rating question and its thanks) recorded as sent, then
    read by the client a little later: the outbox's own claim and result, and a receipt as a provider sends
    it. Nothing reaches a provider."""
    if talk.ticket is None:
        return
    queued = Message.objects.filter(
        ticket_id=talk.ticket.pk, direction=Message.Direction.OUT, delivery_status=Message.Delivery.QUEUED
    ).order_by("created_at")
    for message in queued:
        lease = outbox.message_claim(message.pk, ignore_backoff=True)
        if lease is None:
            continue
        provider_id = f"demo-out-{message.pk.hex}"
        OUTBOX.succeed(message.pk, lease, provider_message_id=provider_id, sent_at=clock.now())
        outbox.message_apply_status(
            connection=talk.plan.connection,
            provider_message_id=provider_id,
            status=Message.Delivery.READ,
            at=talk.at + timedelta(seconds=demo.rng.randint(5, 60)),
        )
