"""Attachments: upload with a size limit and content sniffing, download within the tenant and permission."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
import pytest

from leadflow.activity import attachments
from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.errors import PayloadTooLarge
from leadflow.kit.storage import LocalStorage
from leadflow.models import Lead, Tenant, User
from tests import factories
from tests.activity.conftest import UPLOAD_LIMIT
from tests.activity.factories import PDF_BYTES, PNG_BYTES, make_interaction

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _office_zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


async def _upload(
    client: httpx.AsyncClient, content: bytes, *, name: str = "proposta.pdf", type_: str = "application/pdf", **to: Any
) -> httpx.Response:
    data = {key: str(value) for key, value in to.items()}
    return await client.post("/v1/attachments", files={"file": (name, content, type_)}, data=data)


class TestUploadAndDownload:
    async def test_a_file_makes_the_round_trip_with_its_checksum(
        self, as_broker: httpx.AsyncClient, lead: Lead
    ) -> None:
        response = await _upload(as_broker, PDF_BYTES, name="Proposta Apê 82 • São Paulo.pdf", lead_id=lead.id)
        assert response.status_code == 201, response.text
        meta = response.json()
        assert meta["content_type"] == "application/pdf"
        assert meta["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
        assert (meta["size_bytes"], meta["lead_id"], meta["person_id"]) == (
            len(PDF_BYTES),
            str(lead.id),
            str(lead.person_id),
        )
        download = await as_broker.get(f"/v1/attachments/{meta['id']}/download")
        assert download.status_code == 200
        assert download.content == PDF_BYTES
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-type-options"] == "nosniff"
        disposition = download.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="Proposta Ape 82 _ Sao Paulo.pdf"')
        assert f"filename*=UTF-8''{quote('Proposta Apê 82 • São Paulo.pdf', safe='')}" in disposition

    async def test_the_metadata_and_the_list_by_lead(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        first = (await _upload(as_broker, PDF_BYTES, lead_id=lead.id)).json()
        second = (await _upload(as_broker, PNG_BYTES, name="fachada.png", type_="image/png", lead_id=lead.id)).json()
        assert (await as_broker.get(f"/v1/attachments/{first['id']}")).json()["filename"] == "proposta.pdf"
        listed = (await as_broker.get("/v1/attachments", params={"lead_id": str(lead.id)})).json()["items"]
        assert [a["id"] for a in listed] == [second["id"], first["id"]]

    async def test_a_file_of_an_interaction_is_also_the_leads(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        interaction = await make_interaction(db, tenant, lead)
        meta = (await _upload(as_broker, PDF_BYTES, interaction_id=interaction.id)).json()
        assert (meta["interaction_id"], meta["lead_id"]) == (str(interaction.id), str(lead.id))
        by_interaction = {"interaction_id": str(interaction.id)}
        assert len((await as_broker.get("/v1/attachments", params=by_interaction)).json()["items"]) == 1

    async def test_files_of_a_person_and_of_a_property(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        person = await factories.make_person(db, tenant, name="Ana Paula")
        prop = await factories.make_property(db, tenant)
        text = b"nome;telefone\nAna;11987654321\n"
        as_csv = await _upload(as_broker, text, name="contatos.csv", type_="text/csv", person_id=person.id)
        assert (as_csv.status_code, as_csv.json()["content_type"]) == (201, "text/csv")
        plan = await _upload(as_broker, PNG_BYTES, name="planta.png", type_="image/png", property_id=prop.id)
        assert plan.json()["property_id"] == str(prop.id)

    async def test_a_docx_is_recognised_inside_its_zip(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        docx = _office_zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")
        response = await _upload(as_broker, docx, name="contrato.docx", type_=DOCX, lead_id=lead.id)
        assert (response.status_code, response.json()["content_type"]) == (201, DOCX)

    async def test_an_undeclared_type_takes_the_sniffed_one(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        response = await _upload(as_broker, PNG_BYTES, name="foto", type_="application/octet-stream", lead_id=lead.id)
        assert response.json()["content_type"] == "image/png"

    async def test_deleting_is_soft_and_for_the_uploader_or_a_manager(
        self, as_broker: httpx.AsyncClient, as_owner: httpx.AsyncClient, lead: Lead
    ) -> None:
        theirs = (await _upload(as_owner, PDF_BYTES, lead_id=lead.id)).json()
        mine = (await _upload(as_broker, PDF_BYTES, lead_id=lead.id)).json()
        assert (await as_broker.delete(f"/v1/attachments/{theirs['id']}")).status_code == 403
        assert (await as_broker.delete(f"/v1/attachments/{mine['id']}")).status_code == 204
        assert (await as_broker.get(f"/v1/attachments/{mine['id']}/download")).status_code == 404
        assert (await as_owner.delete(f"/v1/attachments/{theirs['id']}")).status_code == 204

    async def test_a_viewer_downloads_but_cannot_upload(
        self, as_broker: httpx.AsyncClient, as_viewer: httpx.AsyncClient, lead: Lead
    ) -> None:
        meta = (await _upload(as_broker, PDF_BYTES, lead_id=lead.id)).json()
        assert (await as_viewer.get(f"/v1/attachments/{meta['id']}/download")).content == PDF_BYTES
        assert (await _upload(as_viewer, PDF_BYTES, lead_id=lead.id)).status_code == 403


class TestRefusedUploads:
    async def test_a_file_over_the_limit_is_413(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        big = PDF_BYTES + b"0" * UPLOAD_LIMIT
        response = await _upload(as_broker, big, lead_id=lead.id)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"

    async def test_uploads_have_their_own_body_limit(
        self, settings: Settings, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        small_json = settings.model_copy(update={"max_body_bytes": 8 * 1024})
        app = create_app(small_json, database=db)
        padding = b"0" * (20 * 1024)
        async with factories.logged_in(app, tenant, broker) as client:
            assert (await _upload(client, PDF_BYTES + padding, lead_id=lead.id)).status_code == 201
            note = {"lead_id": str(lead.id), "channel": "note", "direction": "internal", "body": "x" * 20_000}
            assert (await client.post("/v1/interactions", json=note)).status_code == 413

    async def test_the_limit_is_checked_while_reading_too(
        self, db: Database, tenant: Tenant, lead: Lead, tmp_path: Path
    ) -> None:
        upload = FakeUpload(PDF_BYTES * 10)
        target = attachments.AttachmentTarget(lead_id=lead.id)
        async with db.session(factories.owner_scope(tenant)) as session:
            with pytest.raises(PayloadTooLarge):
                await attachments.upload_attachment(
                    session,
                    factories.owner_scope(tenant),
                    upload=upload,
                    target=target,
                    storage=LocalStorage(tmp_path),
                    max_bytes=len(PDF_BYTES) * 2,
                )
        assert _stored_files(tmp_path) == []

    async def test_a_declared_type_the_bytes_contradict_is_415(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        response = await _upload(as_broker, PNG_BYTES, name="boleto.pdf", type_="application/pdf", lead_id=lead.id)
        assert response.status_code == 415
        assert "image/png" in response.json()["detail"]

    async def test_html_declared_as_html_is_415(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        page = b"<html><script>alert(1)</script></html>"
        assert (await _upload(as_broker, page, name="x.html", type_="text/html", lead_id=lead.id)).status_code == 415

    async def test_an_unknown_binary_is_415(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        blob = bytes(range(256)) * 4
        response = await _upload(as_broker, blob, name="x.bin", type_="application/octet-stream", lead_id=lead.id)
        assert response.status_code == 415

    async def test_a_zip_that_is_not_an_office_file_is_415(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        archive = _office_zip("fotos/sala.jpg")
        response = await _upload(as_broker, archive, name="fotos.zip", type_="application/zip", lead_id=lead.id)
        assert response.status_code == 415

    async def test_an_empty_file_is_422(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        assert (await _upload(as_broker, b"", lead_id=lead.id)).status_code == 422

    async def test_exactly_one_target_is_required(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        assert (await _upload(as_broker, PDF_BYTES)).status_code == 422
        both = await _upload(as_broker, PDF_BYTES, lead_id=lead.id, person_id=lead.person_id)
        assert both.status_code == 422
        assert both.json()["errors"][0]["field"] == "interaction_id"

    async def test_a_filename_with_a_path_stays_harmless(
        self, as_broker: httpx.AsyncClient, lead: Lead, tmp_path: Path
    ) -> None:
        name = "../../../../etc/cron.d/evil.pdf"
        meta = (await _upload(as_broker, PDF_BYTES, name=name, lead_id=lead.id)).json()
        assert meta["filename"] == "evil.pdf"
        windows = (await _upload(as_broker, PDF_BYTES, name="..\\..\\boot.ini.pdf", lead_id=lead.id)).json()
        assert windows["filename"] == "boot.ini.pdf"
        stored = _stored_files(tmp_path)
        assert {p.relative_to(tmp_path).parts[:1] for p in stored} == {("files",)}
        assert {p.name for p in stored} == {meta["id"], windows["id"]}
        download = await as_broker.get(f"/v1/attachments/{meta['id']}/download")
        assert 'filename="evil.pdf"' in download.headers["content-disposition"]


class TestWhoSeesAttachments:
    async def test_a_broker_who_cannot_see_the_lead_gets_404(
        self, as_broker: httpx.AsyncClient, as_owner: httpx.AsyncClient, managers_lead: Lead
    ) -> None:
        meta = (await _upload(as_owner, PDF_BYTES, lead_id=managers_lead.id)).json()
        assert (await as_broker.get(f"/v1/attachments/{meta['id']}")).status_code == 404
        assert (await as_broker.get(f"/v1/attachments/{meta['id']}/download")).status_code == 404
        assert (await as_broker.get("/v1/attachments")).json()["items"] == []
        refused = await _upload(as_broker, PDF_BYTES, lead_id=managers_lead.id)
        assert refused.status_code == 404

    async def test_a_file_of_an_interaction_on_a_hidden_lead_is_hidden(
        self,
        as_broker: httpx.AsyncClient,
        as_owner: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        managers_lead: Lead,
    ) -> None:
        interaction = await make_interaction(db, tenant, managers_lead)
        meta = (await _upload(as_owner, PDF_BYTES, interaction_id=interaction.id)).json()
        assert (await as_broker.get(f"/v1/attachments/{meta['id']}")).status_code == 404
        assert (await _upload(as_broker, PDF_BYTES, interaction_id=interaction.id)).status_code == 404


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name != "secret.key"]


class FakeUpload:
    """An uploaded file as the service sees it, without HTTP."""

    def __init__(self, content: bytes, *, filename: str = "proposta.pdf", content_type: str = "application/pdf"):
        self.file: BinaryIO = io.BytesIO(content)
        self.filename: str | None = filename
        self.content_type: str | None = content_type

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)
