"""Per-subject data keys: a value sealed for a person or a visitor opens while their key lives; anonymising the
person destroys their keys (their visitor ids' too) so the sealed copies stay where they are but never open again;
keys belong to one tenant."""

from __future__ import annotations

import pytest

from leadflow.kit.db import Database
from leadflow.kit.sealing import SealBroken
from leadflow.models import IdentityKind, Person, PersonIdentity, Tenant
from leadflow.privacy import sealing, service
from tests import factories

FORM = {"name": "Joana Vasconcelos", "email": "joana@exemplo.com.br", "phone": "+5511987651234"}


async def _seal(db: Database, tenant: Tenant, kind: str, ref: str, value: object) -> dict[str, object]:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        return await sealing.seal_for(session, scope, subject_kind=kind, subject_ref=ref, value=value, context=b"e1")


async def _open(db: Database, tenant: Tenant, envelope: dict[str, object], context: bytes = b"e1") -> object:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        return await sealing.open_sealed(session, scope, envelope=envelope, context=context)


async def _anonymise(db: Database, tenant: Tenant, person: Person) -> None:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        await service.anonymise_person(session, scope, person_id=person.id, reason="subject_request")


@pytest.fixture
async def joana(db: Database, tenant: Tenant) -> Person:
    person = await factories.make_person(db, tenant, name="Joana Vasconcelos")
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(
            PersonIdentity(person_id=person.id, kind=IdentityKind.TRACKING_ID, value="trk-joana", match_key="trk-joana")
        )
    return person


class TestSealing:
    async def test_a_sealed_value_holds_no_plain_text_and_opens_with_the_subjects_key(
        self, db: Database, tenant: Tenant, joana: Person
    ) -> None:
        envelope = await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
        assert "joana" not in str(envelope).casefold()
        assert await _open(db, tenant, envelope) == FORM

    async def test_a_value_moved_to_another_row_does_not_open(
        self, db: Database, tenant: Tenant, joana: Person
    ) -> None:
        envelope = await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
        with pytest.raises(SealBroken):
            await _open(db, tenant, envelope, context=b"e2")

    async def test_another_tenant_cannot_open_it(
        self, db: Database, tenant: Tenant, other_tenant: Tenant, joana: Person
    ) -> None:
        envelope = await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
        assert await _open(db, other_tenant, envelope) is None


class TestAnonymisationShredsTheKeys:
    async def test_the_persons_and_their_visitors_sealed_values_no_longer_open(
        self, db: Database, tenant: Tenant, joana: Person
    ) -> None:
        own = await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
        as_visitor = await _seal(db, tenant, sealing.VISITOR, "trk-joana", FORM)
        other = await _seal(db, tenant, sealing.VISITOR, "trk-someone-else", {"name": "Carlos"})
        await _anonymise(db, tenant, joana)
        assert (await _open(db, tenant, own), await _open(db, tenant, as_visitor)) == (None, None)
        assert await _open(db, tenant, other) == {"name": "Carlos"}

    async def test_nothing_new_is_sealed_for_an_anonymised_person(
        self, db: Database, tenant: Tenant, joana: Person
    ) -> None:
        await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
        await _anonymise(db, tenant, joana)
        with pytest.raises(SealBroken):
            await _seal(db, tenant, sealing.PERSON, str(joana.id), FORM)
