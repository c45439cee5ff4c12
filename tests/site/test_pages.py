"""The public pages of a tenant's host: what they show, in Portuguese, to visitors and to search engines."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from tests import factories
from tests.site.conftest import Listings, form_tag, hidden_fields, set_site_settings

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import ApiKeyKind, Development, LeadForm, Property, Tenant

pytestmark = pytest.mark.usefixtures("listings")
UTMS = "utm_source=google&utm_medium=cpc&utm_campaign=jardins&gclid=EAIaIQobChMI"


def meta(page: str, attribute: str, name: str) -> str | None:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
    return html.unescape(match.group(1)) if match else None


class TestHome:
    async def test_lists_the_live_developments_and_the_available_properties_in_portuguese(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert '<html lang="pt-BR">' in page
        assert "Empreendimentos" in page
        assert "Imóveis" in page
        assert 'href="/empreendimentos/residencial-jardim-das-acacias"' in page
        assert "Em obras" in page
        assert "Preços a partir de" in page
        assert "R$ 720.000,00" in page  # the cheapest available unit
        assert 'href="/imoveis/ap-0001"' in page
        assert "R$ 1.250.000,00" in page
        assert "R$ 4.500,00/mês" in page  # the rental

    async def test_shows_no_sold_deleted_or_unit_listing_and_no_deleted_development(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        page = (await anonymous.get("/")).text
        for absent in ("ven-0003", "del-0004", "jardim-a101", "Edifício Demolido", "demol-101"):
            assert absent not in page

    async def test_never_shows_another_tenants_listings(
        self, anonymous: httpx.AsyncClient, rival_listings: tuple[Property, Development]
    ) -> None:
        page = (await anonymous.get("/")).text
        assert "Rival Towers" not in page
        assert "riv-0001" not in page

    async def test_has_a_title_a_description_a_canonical_url_and_open_graph_tags(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        page = (await anonymous.get("/?utm_source=google")).text
        assert "<title>Acme Imóveis</title>" in page
        assert meta(page, "name", "description") == (
            "Acme Imóveis: imóveis à venda e para alugar e lançamentos. Fale com um corretor."
        )
        assert '<link rel="canonical" href="http://acme.localhost/">' in page
        assert meta(page, "property", "og:title") == "Acme Imóveis"
        assert meta(page, "property", "og:url") == "http://acme.localhost/"
        assert meta(page, "property", "og:locale") == "pt_BR"
        assert meta(page, "property", "og:type") == "website"

    async def test_uses_the_description_the_tenant_wrote(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        await set_site_settings(db, tenant, write_key=listings.write_key, description="Imóveis no Cambuí desde 1990.")
        page = (await anonymous.get("/")).text
        assert meta(page, "name", "description") == "Imóveis no Cambuí desde 1990."

    async def test_speaks_english_when_the_tenant_is_set_to_english(
        self, app: FastAPI, db: Database, other_tenant: Tenant
    ) -> None:
        await _set_locale(db, other_tenant, "en")
        async with factories.client(app, other_tenant) as client:
            page = (await client.get("/")).text
        assert '<html lang="en">' in page
        assert "Developments" in page
        assert "No properties available right now." in page

    async def test_pages_a_long_list_of_properties(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        for n in range(30):
            await factories.make_property(db, tenant, reference=f"LOTE-{n:02d}")
        first = (await anonymous.get("/")).text
        more = re.search(r'href="(/\?cursor=[^"]+)"', first)
        assert more, "the home links to the next page"
        second = (await anonymous.get(html.unescape(more.group(1)))).text
        shown_first = set(re.findall(r'href="/imoveis/([^"]+)"', first))
        shown_second = set(re.findall(r'href="/imoveis/([^"]+)"', second))
        assert len(shown_first) == 24
        assert not shown_first & shown_second
        assert len(shown_first | shown_second) == 32  # 30 + AP-0001 + CA-0002

    async def test_a_host_that_names_no_tenant_has_no_site(self, app: FastAPI) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ninguem.localhost") as client:
            assert (await client.get("/")).status_code == 404


async def _set_locale(db: Database, tenant: Tenant, locale: str) -> None:
    async with db.session(Scope.system()) as session:
        (await session.get_one(Tenant, tenant.id)).locale = locale


class TestDevelopmentPage:
    PATH = "/empreendimentos/residencial-jardim-das-acacias"

    async def test_shows_the_development_its_details_and_its_available_units(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get(self.PATH)
        assert response.status_code == 200
        page = response.text
        assert "<h1>Residencial Jardim das Acácias</h1>" in page
        assert "Por Incorporadora Campos" in page
        assert "Em obras" in page
        assert "dezembro de 2027" in page
        assert "Torre A, Torre B" in page
        assert "Lazer e comodidades" in page
        assert 'href="/imoveis/jardim-a101"' in page
        assert "R$ 720.000,00" in page
        assert "jardim-a102" not in page  # reserved
        assert 'class="placeholder big"' in page  # no photos: drawn in CSS

    async def test_links_to_the_map_by_address(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get(self.PATH)).text
        assert (
            'href="https://www.google.com/maps/search/?api=1&amp;query='
            'Rua+Coronel+Quirino%2C+900%2C+Cambu%C3%AD%2C+Campinas%2C+SP"'
        ) in page

    async def test_has_seo_and_open_graph_tags(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get(f"{self.PATH}?{UTMS}")).text
        title = "Residencial Jardim das Acácias em Cambuí | Acme Imóveis"
        assert f"<title>{title}</title>" in page
        assert meta(page, "name", "description") == "Dois e três dormitórios no Cambuí, lazer completo."
        canonical = f"http://acme.localhost{self.PATH}"
        assert f'<link rel="canonical" href="{canonical}">' in page  # without the campaign parameters
        assert meta(page, "property", "og:url") == canonical
        assert meta(page, "property", "og:title") == title

    async def test_posts_the_lead_form_with_the_visit_and_the_development_as_hidden_fields(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        page = (await anonymous.get(f"{self.PATH}?{UTMS}", headers={"Referer": "https://www.google.com/"})).text
        assert form_tag(page) == (
            '<form class="form" method="post" action="/v1/forms/contato" data-leadflow-form="contato"'
            ' accept-charset="utf-8">'
        )
        hidden = hidden_fields(page)
        assert hidden["utm_source"] == "google"
        assert hidden["utm_medium"] == "cpc"
        assert hidden["utm_campaign"] == "jardins"
        assert hidden["gclid"] == "EAIaIQobChMI"
        assert hidden["referrer"] == "https://www.google.com/"
        assert html.unescape(hidden["landing_page"]) == f"http://acme.localhost{self.PATH}?{UTMS}"
        assert hidden["lf_tracking_id"] == ""
        assert hidden["development"] == "residencial-jardim-das-acacias"
        assert 'name="lf_hp"' in page
        for visible in ('name="name"', 'name="phone"', 'name="email"', 'name="message"'):
            assert visible in page

    async def test_a_referrer_on_the_same_site_is_not_a_touch(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get(self.PATH, headers={"Referer": "http://acme.localhost/"})).text
        assert "referrer" not in hidden_fields(page)

    async def test_loads_t_js_with_the_sites_write_key(self, anonymous: httpx.AsyncClient, listings: Listings) -> None:
        page = (await anonymous.get(self.PATH)).text
        assert f'<script async src="http://acme.localhost/t.js" data-write-key="{listings.write_key}"></script>' in page
        assert "window.leadflow=window.leadflow||{_q:[]}" in page

    async def test_uses_the_form_tied_to_the_development_when_there_is_one(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(LeadForm(key="lancamento-jardins", name="Jardins", development_id=listings.development.id))
        page = (await anonymous.get(self.PATH)).text
        assert 'action="/v1/forms/lancamento-jardins"' in form_tag(page)

    @pytest.mark.parametrize(
        "path",
        ["/empreendimentos/nao-existe", "/empreendimentos/edificio-demolido", "/empreendimentos/rival-towers"],
        ids=["unknown", "deleted", "another-tenants"],
    )
    async def test_is_not_found_when_not_public(
        self, anonymous: httpx.AsyncClient, rival_listings: tuple[Property, Development], path: str
    ) -> None:
        response = await anonymous.get(path)
        assert response.status_code == 404
        assert "Página não encontrada" in response.text
        assert '<meta name="robots" content="noindex">' in response.text


class TestPropertyPage:
    async def test_shows_the_property_with_its_price_in_reais_and_its_details(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/imoveis/ap-0001")
        assert response.status_code == 200
        page = response.text
        assert "<h1>Apartamento com varanda gourmet em Pinheiros</h1>" in page
        assert '<p class="price">R$ 1.250.000,00</p>' in page
        assert "<dt>Condomínio</dt><dd>R$ 1.380,50</dd>" in page
        assert "<dt>Área privativa</dt><dd>72,5 m²</dd>" in page
        assert "<dt>Dormitórios</dt><dd>3</dd>" in page
        assert "Referência AP-0001" in page
        assert "CEP 05422-010" in page
        assert "Venda" in page
        assert "Andar alto, sol da manhã" in page
        assert "maps/search/?api=1&amp;query=Rua+dos+Pinheiros%2C+1200%2C+Pinheiros" in page

    async def test_shows_the_photos_and_links_the_map_by_coordinates(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get("/imoveis/ca-0002")).text
        assert '<img class="photo" src="https://fotos.acme.example.com/ca-0002/fachada.jpg"' in page
        assert '<img src="https://fotos.acme.example.com/ca-0002/sala.jpg"' in page
        assert meta(page, "property", "og:image") == "https://fotos.acme.example.com/ca-0002/fachada.jpg"
        assert "maps/search/?api=1&amp;query=-22.8926%2C-47.0553" in page
        assert "R$ 4.500,00/mês" in page
        assert "<title>Casa em Cambuí | Acme Imóveis</title>" in page

    async def test_has_a_description_and_a_canonical_url_in_lower_case(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get("/imoveis/AP-0001")).text
        assert '<link rel="canonical" href="http://acme.localhost/imoveis/ap-0001">' in page
        assert meta(page, "name", "description") == "Andar alto, sol da manhã, a duas quadras do metrô."
        assert meta(page, "property", "og:title") == "Apartamento com varanda gourmet em Pinheiros | Acme Imóveis"

    async def test_posts_to_the_form_tied_to_the_property_so_its_captador_gets_the_lead(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        page = (await anonymous.get(f"/imoveis/ap-0001?{UTMS}")).text
        assert 'action="/v1/forms/ap-0001" data-leadflow-form="ap-0001"' in form_tag(page)
        hidden = hidden_fields(page)
        assert hidden["property_reference"] == "AP-0001"
        assert hidden["gclid"] == "EAIaIQobChMI"
        assert "Olá! Gostaria de saber mais sobre o imóvel AP-0001." in page

    async def test_a_property_without_a_form_of_its_own_posts_the_sites_general_form(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        page = (await anonymous.get("/imoveis/ca-0002")).text
        assert 'action="/v1/forms/contato"' in form_tag(page)

    async def test_a_unit_names_its_development(self, anonymous: httpx.AsyncClient) -> None:
        page = (await anonymous.get("/imoveis/jardim-a101")).text
        assert "<h1>Apartamento 101 no Residencial Jardim das Acácias</h1>" in page
        assert 'href="/empreendimentos/residencial-jardim-das-acacias"' in page
        hidden = hidden_fields(page)
        assert (hidden["property_reference"], hidden["development"]) == (
            "JARDIM-A101",
            "residencial-jardim-das-acacias",
        )

    @pytest.mark.parametrize(
        "reference",
        ["nao-existe", "del-0004", "ven-0003", "jardim-a102", "demol-101", "riv-0001"],
        ids=["unknown", "deleted", "sold", "reserved", "unit-of-deleted-development", "another-tenants"],
    )
    async def test_is_not_found_when_not_public(
        self, anonymous: httpx.AsyncClient, rival_listings: tuple[Property, Development], reference: str
    ) -> None:
        response = await anonymous.get(f"/imoveis/{reference}")
        assert response.status_code == 404
        assert "Este anúncio não está mais disponível" in response.text

    async def test_answers_head_requests_of_crawlers(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.head("/imoveis/ap-0001")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")

    async def test_an_unpriced_listing_says_price_on_request(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_property(db, tenant, reference="SC-0009", price_cents=None, private_area=Decimal(40))
        page = (await anonymous.get("/imoveis/sc-0009")).text
        assert "Preço sob consulta" in page
        assert "<title>Apartamento em Pinheiros | Acme Imóveis</title>" in page


class TestSiteSettings:
    async def test_loads_the_chatwoot_widget_when_the_tenant_configured_it(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        chatwoot = {"base_url": "https://chat.acme.example.com", "website_token": "dQ8uKfX3bL2h9sPz"}
        await set_site_settings(db, tenant, write_key=listings.write_key, chatwoot=chatwoot)
        page = (await anonymous.get("/imoveis/ap-0001")).text
        assert 'var BASE_URL = "https://chat.acme.example.com";' in page
        assert 'g.src = BASE_URL + "/packs/js/sdk.js";' in page
        assert 'websiteToken: "dQ8uKfX3bL2h9sPz"' in page
        assert 'window.chatwootSettings = {locale: "pt_BR"};' in page

    async def test_has_no_chat_widget_without_chatwoot(self, anonymous: httpx.AsyncClient) -> None:
        assert "chatwootSDK" not in (await anonymous.get("/imoveis/ap-0001")).text

    async def test_a_broken_chatwoot_setting_is_ignored_and_the_page_still_serves(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        bad = {"base_url": "javascript:alert(1)", "website_token": "x"}
        await set_site_settings(db, tenant, write_key=listings.write_key, chatwoot=bad)
        response = await anonymous.get("/imoveis/ap-0001")
        assert response.status_code == 200
        assert "chatwootSDK" not in response.text

    async def test_serves_without_t_js_when_the_write_key_is_not_a_live_key_of_the_tenant(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await set_site_settings(db, tenant, write_key="lf_wk_revogada")
        response = await anonymous.get("/imoveis/ap-0001")
        assert response.status_code == 200
        assert "t.js" not in response.text
        assert "data-leadflow-form" in response.text  # the form works without t.js

    async def test_another_tenants_write_key_is_never_printed(
        self, anonymous: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        _, rival_key = await factories.make_key(db, other_tenant, kind=ApiKeyKind.WRITE)
        await set_site_settings(db, tenant, write_key=rival_key)
        assert rival_key not in (await anonymous.get("/")).text


class TestSitemap:
    async def test_lists_the_home_every_live_development_and_every_available_property(
        self, anonymous: httpx.AsyncClient, rival_listings: tuple[Property, Development]
    ) -> None:
        response = await anonymous.get("/sitemap.xml")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        locations = re.findall(r"<loc>([^<]+)</loc>", response.text)
        assert locations == [
            "http://acme.localhost/",
            "http://acme.localhost/empreendimentos/residencial-jardim-das-acacias",
            "http://acme.localhost/imoveis/ap-0001",
            "http://acme.localhost/imoveis/ca-0002",
            "http://acme.localhost/imoveis/jardim-a101",
        ]
        assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        assert re.search(r"<lastmod>\d{4}-\d{2}-\d{2}</lastmod>", response.text)

    async def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_the_app(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/robots.txt")
        assert response.status_code == 200
        assert "Sitemap: http://acme.localhost/sitemap.xml" in response.text
        assert "Disallow: /app" in response.text

    async def test_every_page_the_sitemap_lists_is_served(self, anonymous: httpx.AsyncClient) -> None:
        locations = re.findall(r"<loc>([^<]+)</loc>", (await anonymous.get("/sitemap.xml")).text)
        for location in locations:
            assert (await anonymous.get(location)).status_code == 200, location
