"""The demo tenant's CRM data: deterministic, realistic pt-BR data over the last 90 days.

Everything goes through the services (so it obeys the same rules as the API), then the timestamps are moved back
in time: a lead created "40 days ago" has its creation, stage moves and interactions 40 days ago.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity import service as activities
from leadflow.activity.schemas import InteractionCreate, TaskCreate, VisitCreate
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead import service as leads
from leadflow.lead.funnel import ensure_default_pipelines, replace_transitions
from leadflow.lead.schemas import InterestIn, LeadCreate, LeadMove, Touch, Transition, TransitionsPut
from leadflow.models import (
    Direction,
    InteractionChannel,
    Lead,
    LeadStageHistory,
    LossReason,
    Pipeline,
    Property,
    Role,
    Stage,
    StageKind,
    User,
    VisitStatus,
)
from leadflow.person.schemas import PersonCreate
from leadflow.property import service as properties
from leadflow.property.schemas import DevelopmentCreate, PropertyCreate, UnitCreate


@dataclass(frozen=True)
class DemoSize:
    people: int
    leads: int
    properties: int
    units_per_tower: int


FULL = DemoSize(people=300, leads=400, properties=80, units_per_tower=6)
SMALL = DemoSize(people=24, leads=30, properties=10, units_per_tower=2)

PLACES = {
    "São Paulo": [
        "Pinheiros",
        "Vila Madalena",
        "Moema",
        "Itaim Bibi",
        "Perdizes",
        "Vila Mariana",
        "Tatuapé",
        "Santana",
        "Brooklin",
        "Butantã",
        "Mooca",
        "Jardim Paulista",
    ],
    "Campinas": ["Cambuí", "Taquaral", "Barão Geraldo", "Guanabara", "Nova Campinas", "Mansões Santo Antônio"],
}
DDD = {"São Paulo": "11", "Campinas": "19"}
FIRST = [
    "Maria",
    "João",
    "Ana",
    "Pedro",
    "Juliana",
    "Lucas",
    "Fernanda",
    "Rafael",
    "Camila",
    "Gustavo",
    "Beatriz",
    "Thiago",
    "Larissa",
    "Felipe",
    "Patrícia",
    "Rodrigo",
    "Aline",
    "Marcelo",
    "Bruna",
    "Diego",
    "Letícia",
    "André",
    "Vanessa",
    "Ricardo",
    "Tatiane",
    "Eduardo",
    "Carolina",
    "Fábio",
    "Priscila",
    "Leandro",
]
LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
]
SOURCES = [  # (source, channel, utm_source, utm_medium, campaign or None, weight)
    ("site", "Organic Search", "google", "organic", None, 14),
    ("google_ads", "Paid Search", "google", "cpc", "busca-apartamentos-sp", 16),
    ("facebook_ads", "Paid Social", "facebook", "paid_social", "lancamento-aurora-2026", 14),
    ("instagram", "Organic Social", "instagram", "social", None, 8),
    ("portal_zap", "Portals", "zap", "portal", None, 14),
    ("portal_vivareal", "Portals", "vivareal", "portal", None, 10),
    ("whatsapp", "WhatsApp", None, None, None, 12),
    ("indicacao", "Referral", None, None, None, 6),
    ("meta_lead_ads", "Lead Ads", "facebook", "lead_ads", "jardim-acacias-leadads", 6),
]
DEVELOPMENTS = [
    ("Aurora Pinheiros", "Construtora Horizonte", "lancamento", "São Paulo", "Pinheiros", "05422010", ["Torre Sol"]),
    (
        "Residencial Jardim das Acácias",
        "Incorporadora Campos",
        "em_obras",
        "Campinas",
        "Cambuí",
        "13024000",
        ["Torre A", "Torre B"],
    ),
    ("Vista Taquaral", "Construtora Horizonte", "pronto", "Campinas", "Taquaral", "13076000", ["Bloco Único"]),
]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in ascii_text if c.isalnum())


def _title(kind: str, bedrooms: int, neighbourhood: str) -> str:
    rooms = f" com {bedrooms} dormitórios" if bedrooms else ""
    return f"{kind.replace('_', ' ').capitalize()}{rooms} em {neighbourhood}"


class DemoCrm:
    def __init__(self, db: Database, tenant_id: uuid.UUID, size: DemoSize) -> None:
        self.db = db
        self.size = size
        self.rnd = random.Random(20261123)  # the same data on every machine
        self.scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
        self.now = utcnow().replace(microsecond=0)
        self.person_ids: dict[int, uuid.UUID] = {}  # a person with a second lead keeps one record

    async def load(self) -> None:
        async with self.db.session(self.scope) as session:
            if (await session.execute(select(Property.id).limit(1))).first() is not None:
                return  # already loaded
            await ensure_default_pipelines(session, self.scope)
            await self._restrict_sales_funnel(session)
            self.brokers = list((await session.execute(select(User).where(User.role == Role.BROKER))).scalars())
            self.listings = await self._properties(session)
            await self._developments(session)
        people = self._people()
        for start in range(0, self.size.leads, 50):
            async with self.db.session(self.scope) as session:
                await self._leads(session, people, range(start, min(start + 50, self.size.leads)))

    async def _restrict_sales_funnel(self, session: AsyncSession) -> None:
        """The sales funnel moves one step at a time (or back one), may be lost anywhere and won from Proposta."""
        stages = (await self._funnels(session))["Venda"]
        pipeline_id = stages[0].pipeline_id
        open_stages = [s for s in stages if s.kind is StageKind.OPEN]
        won = next(s for s in stages if s.kind is StageKind.WON)
        lost = next(s for s in stages if s.kind is StageKind.LOST)
        allowed = list(itertools.pairwise(open_stages))
        allowed += [(b, a) for a, b in allowed] + [(s, lost) for s in open_stages] + [(open_stages[-1], won)]
        allowed += [(lost, open_stages[0]), (won, open_stages[-1])]  # reopening
        moves = [Transition(from_stage_id=a.id, to_stage_id=b.id) for a, b in allowed]
        data = TransitionsPut(transitions=moves, restrict_transitions=True)
        await replace_transitions(session, self.scope, pipeline_id=pipeline_id, data=data)

    # Properties and developments

    async def _properties(self, session: AsyncSession) -> list[Property]:
        made = []
        for n in range(1, self.size.properties + 1):
            made.append(await properties.create_property(session, self.scope, data=self._listing(n)))
        return made

    def _listing(self, n: int) -> PropertyCreate:
        rnd = self.rnd
        kind = (
            "apartamento"
            if n == 1
            else rnd.choice(["apartamento"] * 5 + ["casa", "cobertura", "studio", "sala_comercial"])
        )
        purpose = "venda" if n == 1 or rnd.random() < 0.7 else "locacao"
        city = "São Paulo" if rnd.random() < 0.65 else "Campinas"
        bedrooms = {"studio": 1, "sala_comercial": 0, "cobertura": 4}.get(kind, rnd.randint(1, 4))
        area = Decimal(25 + bedrooms * 28 + rnd.randint(0, 30))
        price = (
            int(area) * rnd.randint(7_000, 14_000) * 100
            if purpose == "venda"
            else int(area) * rnd.randint(35, 70) * 100
        )
        prefix = {"apartamento": "AP", "casa": "CA", "cobertura": "CO", "studio": "ST", "sala_comercial": "SC"}[kind]
        neighbourhood = rnd.choice(PLACES[city])
        return PropertyCreate(
            reference=f"{prefix}-{n:04d}",
            title=_title(kind, bedrooms, neighbourhood),
            type=kind,
            purpose=purpose,
            price_cents=price,
            condo_fee_cents=rnd.randint(300, 1800) * 100 if kind != "casa" else None,
            iptu_cents=rnd.randint(80, 600) * 100,
            private_area=area,
            bedrooms=bedrooms,
            suites=min(bedrooms, rnd.randint(0, 2)),
            bathrooms=max(1, bedrooms),
            parking=rnd.randint(0, 3),
            city=city,
            uf="SP",
            neighbourhood=neighbourhood,
            street=rnd.choice(
                ["Rua dos Pinheiros", "Av. Brasil", "Rua Harmonia", "Rua Coronel Quirino", "Av. Norte-Sul"]
            ),
            number=str(rnd.randint(10, 2500)),
            features=rnd.sample(
                ["varanda gourmet", "piscina", "academia", "portaria 24h", "pet place", "churrasqueira"], 3
            ),
            listing_broker_id=rnd.choice(self.brokers).id if self.brokers else None,
        )

    async def _developments(self, session: AsyncSession) -> None:
        for name, builder, phase, city, neighbourhood, cep, towers in DEVELOPMENTS:
            development = await properties.create_development(
                session,
                self.scope,
                data=DevelopmentCreate(
                    name=name,
                    builder=builder,
                    phase=phase,
                    city=city,
                    uf="SP",
                    neighbourhood=neighbourhood,
                    cep=cep,
                    towers=towers,
                    delivery_date=(self.now + timedelta(days=540 if phase != "pronto" else -200)).date(),
                    description=f"{name}: 2 e 3 dormitórios em {neighbourhood}, lazer completo.",
                    features=["piscina", "academia", "salão de festas", "playground"],
                ),
            )
            for tower in towers:
                for unit in range(1, self.size.units_per_tower + 1):
                    await self._unit(session, development.id, name, tower, unit)

    async def _unit(self, session: AsyncSession, development_id: uuid.UUID, name: str, tower: str, unit: int) -> None:
        floor = 1 + (unit - 1) // 2
        bedrooms = 2 if unit % 2 else 3
        status = self.rnd.choice(["disponivel"] * 3 + ["reservado", "vendido"])
        await properties.create_unit(
            session,
            self.scope,
            development_id=development_id,
            data=UnitCreate(
                reference=f"{_slug(name)[:6].upper()}-{_slug(tower)[-1:].upper()}{floor}{unit % 2 + 1:02d}",
                type="apartamento",
                purpose="venda",
                status=status,
                price_cents=(480_000 + bedrooms * 120_000 + floor * 8_000) * 100,
                private_area=Decimal(48 + bedrooms * 14),
                bedrooms=bedrooms,
                suites=1,
                bathrooms=bedrooms - 1,
                parking=bedrooms - 1,
                tower=tower,
                unit_number=f"{floor}{unit % 2 + 1:02d}",
                floor=floor,
            ),
        )

    # People and leads

    def _people(self) -> list[PersonCreate]:
        people = []
        for n in range(self.size.people):
            first, last = self.rnd.choice(FIRST), self.rnd.choice(LAST)
            city = "São Paulo" if self.rnd.random() < 0.65 else "Campinas"
            phone = f"({DDD[city]}) 9{self.rnd.randint(6000, 9999)}-{self.rnd.randint(0, 9999):04d}"
            domain = self.rnd.choice(["gmail.com", "hotmail.com", "outlook.com", "uol.com.br"])
            email = f"{_slug(first)}.{_slug(last)}{n}@{domain}"
            people.append(PersonCreate(name=f"{first} {last}", phones=[phone], emails=[email] if n % 5 else []))
        return people

    async def _leads(self, session: AsyncSession, people: list[PersonCreate], numbers: range) -> None:
        funnels = await self._funnels(session)
        reasons = list((await session.execute(select(LossReason.id))).scalars())
        for n in numbers:
            await self._lead(session, n, people, self.person_ids, funnels, reasons)

    async def _funnels(self, session: AsyncSession) -> dict[str, list[Stage]]:
        rows = (await session.execute(select(Pipeline.name, Stage).join(Stage, Stage.pipeline_id == Pipeline.id))).all()
        funnels: dict[str, list[Stage]] = {}
        for pipeline_name, stage in rows:
            funnels.setdefault(pipeline_name, []).append(stage)
        return {name: sorted(stages, key=lambda s: s.position) for name, stages in funnels.items()}

    async def _lead(
        self,
        session: AsyncSession,
        n: int,
        people: list[PersonCreate],
        person_ids: dict[int, uuid.UUID],
        funnels: dict[str, list[Stage]],
        reasons: list[uuid.UUID],
    ) -> None:
        rnd = self.rnd
        index = n % len(people)
        age_days = rnd.uniform(0.02, 90)
        created = self.now - timedelta(days=age_days)
        pipeline = "Venda" if rnd.random() < 0.75 else "Locação"
        stages = funnels[pipeline]
        path = self._path(stages, age_days)
        listing = rnd.choice(
            [p for p in self.listings if p.purpose.value == ("venda" if pipeline == "Venda" else "locacao")]
            or self.listings
        )
        owner = rnd.choice(self.brokers) if self.brokers and rnd.random() > 0.04 else None
        source = rnd.choices(SOURCES, weights=[s[-1] for s in SOURCES])[0]
        data = self._lead_data(
            people[index], person_ids.get(index), owner, source, listing, pipeline, stages[0].pipeline_id, created
        )
        lead = await leads.create_lead(session, self.scope, data=data)
        person_ids[index] = lead.person_id
        moved_at = await self._walk(session, lead, path, reasons, created)
        await self._backdate(session, lead, created, moved_at)
        if owner is not None:
            await self._activity(session, lead, owner, path[-1], listing, created)

    def _path(self, stages: list[Stage], age_days: float) -> list[Stage]:
        open_stages = [s for s in stages if s.kind is StageKind.OPEN]
        won = next(s for s in stages if s.kind is StageKind.WON)
        lost = next(s for s in stages if s.kind is StageKind.LOST)
        reach = min(len(open_stages), 1 + int(self.rnd.random() * min(age_days / 6 + 1, len(open_stages))))
        path = open_stages[:reach]
        if age_days > 10 and self.rnd.random() < 0.35:
            path.append(lost)
        elif age_days > 20 and reach == len(open_stages) and self.rnd.random() < 0.5:
            path.append(won)
        return path

    def _lead_data(
        self,
        person: PersonCreate,
        person_id: uuid.UUID | None,
        owner: User | None,
        source: tuple[str, str, str | None, str | None, str | None, int],
        listing: Property,
        pipeline: str,
        pipeline_id: uuid.UUID,
        created: datetime,
    ) -> LeadCreate:
        rnd = self.rnd
        name, channel, utm_source, utm_medium, campaign, _ = source
        touch = Touch(
            utm_source=utm_source,
            utm_medium=utm_medium,
            utm_campaign=campaign,
            gclid=f"Cj0KCQ{rnd.randint(10**8, 10**9)}" if name == "google_ads" else None,
            landing_page=f"https://www.imobiliariademo.com.br/imoveis/{listing.reference.lower()}",
            at=created,
        )
        price = listing.price_cents or 0
        return LeadCreate(
            person=None if person_id else person,
            person_id=person_id,
            pipeline_id=pipeline_id,
            owner_id=owner.id if owner else None,
            title=f"{listing.title}",
            temperature=rnd.choice(["frio", "morno", "quente"]),
            score=rnd.randint(10, 95),
            source=name,
            channel=channel,
            first_touch=touch,
            last_touch=touch,
            property_id=listing.id,
            value_cents=price,
            first_response_due_at=created + timedelta(minutes=15),
            next_follow_up_at=created + timedelta(days=rnd.randint(1, 20)),
            tags=rnd.sample(
                ["financiamento", "fgts", "investidor", "primeiro imóvel", "permuta", "urgente"], rnd.randint(0, 2)
            ),
            interest=InterestIn(
                purpose="compra" if pipeline == "Venda" else "locacao",
                property_types=[listing.type],
                price_min_cents=int(price * 0.8),
                price_max_cents=int(price * 1.15),
                bedrooms_min=max(0, (listing.bedrooms or 1) - 1),
                cities=[listing.city] if listing.city else [],
                neighbourhoods=[listing.neighbourhood] if listing.neighbourhood else [],
                accepts_financing=rnd.random() < 0.6,
                accepts_fgts=rnd.random() < 0.3,
            ),
        )

    async def _walk(
        self, session: AsyncSession, lead: Lead, path: list[Stage], reasons: list[uuid.UUID], created: datetime
    ) -> list[datetime]:
        span = (self.now - created) * 0.8
        moments = [created + span * (i / len(path)) for i in range(len(path))]
        for stage in path[1:]:
            lost = stage.kind is StageKind.LOST
            move = LeadMove(stage_id=stage.id, loss_reason_id=self.rnd.choice(reasons) if lost and reasons else None)
            await leads.move_lead(session, self.scope, lead_id=lead.id, data=move)
        return moments

    async def _backdate(self, session: AsyncSession, lead: Lead, created: datetime, moments: list[datetime]) -> None:
        history = list(
            (
                await session.execute(
                    select(LeadStageHistory)
                    .where(LeadStageHistory.lead_id == lead.id)
                    .order_by(LeadStageHistory.moved_at)
                )
            ).scalars()
        )
        previous = created
        for row, moment in zip(history, moments or [created], strict=False):
            row.moved_at = moment
            row.seconds_in_previous = None if row.from_stage_id is None else int((moment - previous).total_seconds())
            previous = moment
        lead.created_at = created
        lead.stage_entered_at = previous
        if lead.closed_at is not None:
            lead.closed_at = previous
        await session.flush()
        await session.execute(update(Lead).where(Lead.id == lead.id).values(updated_at=previous))

    async def _activity(
        self, session: AsyncSession, lead: Lead, owner: User, stage: Stage, listing: Property, created: datetime
    ) -> None:
        broker = Scope(tenant_id=self.scope.tenant_id, actor_type="user", actor_id=owner.id, role=Role.BROKER.value)
        rnd = self.rnd
        fresh = self.now - created < timedelta(hours=3)
        if not (fresh and rnd.random() < 0.7):  # recent leads wait for their first answer (Meu dia)
            await activities.log_interaction(
                session,
                broker,
                data=InteractionCreate(
                    lead_id=lead.id,
                    channel=rnd.choice([InteractionChannel.WHATSAPP, InteractionChannel.CALL]),
                    direction=Direction.OUTBOUND,
                    occurred_at=created + timedelta(minutes=rnd.randint(2, 40)),
                    outcome="atendeu",
                    body="Olá! Aqui é da Imobiliária Demo, recebemos seu contato sobre o imóvel.",
                ),
            )
        for k in range(rnd.randint(0, 3)):
            at = created + (self.now - created) * rnd.random()
            await activities.log_interaction(
                session,
                broker,
                data=InteractionCreate(
                    lead_id=lead.id,
                    channel=rnd.choice(list(InteractionChannel)[:5]),
                    direction=Direction.INBOUND if k % 2 else Direction.OUTBOUND,
                    occurred_at=at,
                    body=rnd.choice(
                        [
                            "Cliente pediu fotos da área de lazer.",
                            "Enviei simulação de financiamento.",
                            "Cliente quer visitar no sábado.",
                            "Perguntou sobre o valor do condomínio.",
                        ]
                    ),
                ),
            )
        if lead.status.value == "open":
            due = self.now + timedelta(hours=rnd.randint(-72, 96))
            await activities.create_task(
                session,
                broker,
                data=TaskCreate(
                    title=rnd.choice(["Ligar para retomar contato", "Enviar proposta", "Confirmar visita"]),
                    due_at=due,
                    lead_id=lead.id,
                    assignee_id=owner.id,
                ),
            )
        if stage.position >= 2:
            when = created + (self.now - created) * 0.6
            await activities.schedule_visit(
                session,
                broker,
                data=VisitCreate(
                    lead_id=lead.id,
                    property_id=listing.id,
                    broker_id=owner.id,
                    scheduled_at=when,
                    status=VisitStatus.DONE if stage.position > 2 else VisitStatus.SCHEDULED,
                    feedback="Gostou da planta, achou a vaga apertada." if stage.position > 2 else None,
                ),
            )


async def seed_demo_crm(db: Database, tenant_id: uuid.UUID, size: DemoSize = FULL) -> None:
    await DemoCrm(db, tenant_id, size).load()
