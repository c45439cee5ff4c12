"""Channel grouping: every GA4 rule of contracts §1.7 in order, plus leadflow's portal/WhatsApp/Lead Ads channels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.pipeline.channels import (
    RULES,
    SEARCH_SOURCES,
    SHOPPING_SOURCES,
    SOCIAL_SOURCES,
    VIDEO_SOURCES,
    Channel,
    channel_group,
    in_list,
    normalize_source_medium,
    referrer_host,
)


def group(
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
    referrer: str | None = None,
    **click_ids: str,
) -> Channel:
    return channel_group(source=source, medium=medium, campaign=campaign, referrer=referrer, click_ids=click_ids)


class TestGa4RulesEachNameTheirChannel:
    @pytest.mark.parametrize(
        ("source", "medium", "campaign", "expected"),
        [
            ("(direct)", "(none)", None, Channel.DIRECT),
            ("(direct)", "(not set)", None, Channel.DIRECT),
            ("google", "cpc", "pmax-cross-network-lancamentos", Channel.CROSS_NETWORK),
            ("mercadolivre", "cpc", "imoveis-sp", Channel.PAID_SHOPPING),
            ("google", "cpc", "shopping-decoracao", Channel.PAID_SHOPPING),
            ("google", "cpc", "aurora-lancamento", Channel.PAID_SEARCH),
            ("Google", "CPC", None, Channel.PAID_SEARCH),
            ("bing", "ppc", None, Channel.PAID_SEARCH),
            ("google.com.br", "paid_search", None, Channel.PAID_SEARCH),
            ("instagram", "paid_social", "aurora-stories", Channel.PAID_SOCIAL),
            ("facebook", "cpc", None, Channel.PAID_SOCIAL),
            ("tiktok", "paid", None, Channel.PAID_SOCIAL),
            ("linkedin", "retargeting", None, Channel.PAID_SOCIAL),
            ("youtube", "cpv", "tour-virtual-aurora", Channel.PAID_VIDEO),
            ("dv360", "display", None, Channel.DISPLAY),
            ("globo.com", "banner", None, Channel.DISPLAY),
            ("programatica", "cpm", None, Channel.DISPLAY),
            ("parceiro-xyz", "cpc", None, Channel.PAID_OTHER),
            ("mercadolivre", "referral", None, Channel.ORGANIC_SHOPPING),
            ("blog", "post", "black-friday-shop", Channel.ORGANIC_SHOPPING),
            ("instagram", "bio", None, Channel.ORGANIC_SOCIAL),
            ("grupo-condominio", "social", None, Channel.ORGANIC_SOCIAL),
            ("youtube", "descricao", None, Channel.ORGANIC_VIDEO),
            ("site", "video-tour", None, Channel.ORGANIC_VIDEO),
            ("yahoo", "organic", None, Channel.ORGANIC_SEARCH),
            ("qualquer", "organic", None, Channel.ORGANIC_SEARCH),
            ("blogdoimovel.com.br", "referral", None, Channel.REFERRAL),
            ("app-parceiro", "app", None, Channel.REFERRAL),
            ("newsletter", "email", "lancamentos-novembro", Channel.EMAIL),
            ("e-mail", "disparo", None, Channel.EMAIL),
            ("parceiro", "affiliate", None, Channel.AFFILIATES),
            ("radio-band", "audio", None, Channel.AUDIO),
            ("sms", "disparo", None, Channel.SMS),
            ("zenvia", "sms", None, Channel.SMS),
            ("onesignal", "web-push", None, Channel.MOBILE_PUSH_NOTIFICATIONS),
            ("app", "mobile-notification", None, Channel.MOBILE_PUSH_NOTIFICATIONS),
            ("firebase", "lembrete", None, Channel.MOBILE_PUSH_NOTIFICATIONS),
            ("panfleto", "impresso", None, Channel.UNASSIGNED),
        ],
    )
    def test_utm_values_land_in_the_documented_channel(
        self, source: str, medium: str, campaign: str | None, expected: Channel
    ) -> None:
        assert group(source, medium, campaign) == expected


class TestRulesApplyInTheDocumentedOrder:
    def test_the_rule_table_lists_ga4_channels_in_contract_order_with_leadflow_channels_before_paid(self) -> None:
        assert [channel for channel, _ in RULES] == [
            Channel.DIRECT,
            Channel.CROSS_NETWORK,
            Channel.WHATSAPP_ADS,
            Channel.LEAD_ADS,
            Channel.PORTALS,
            Channel.WHATSAPP,
            Channel.PAID_SHOPPING,
            Channel.PAID_SEARCH,
            Channel.PAID_SOCIAL,
            Channel.PAID_VIDEO,
            Channel.DISPLAY,
            Channel.PAID_OTHER,
            Channel.ORGANIC_SHOPPING,
            Channel.ORGANIC_SOCIAL,
            Channel.ORGANIC_VIDEO,
            Channel.ORGANIC_SEARCH,
            Channel.REFERRAL,
            Channel.EMAIL,
            Channel.AFFILIATES,
            Channel.AUDIO,
            Channel.SMS,
            Channel.MOBILE_PUSH_NOTIFICATIONS,
        ]

    def test_a_cross_network_campaign_beats_paid_search(self) -> None:
        assert group("google", "cpc", "Cross-Network Aurora") == Channel.CROSS_NETWORK

    def test_a_paid_social_source_beats_display_for_cpm(self) -> None:
        assert group("facebook", "cpm") == Channel.PAID_SOCIAL

    def test_a_social_source_with_email_medium_is_organic_social(self) -> None:
        assert group("facebook", "email") == Channel.ORGANIC_SOCIAL


class TestLeadflowChannels:
    @pytest.mark.parametrize(
        ("source", "medium", "referrer", "click_ids", "expected"),
        [
            (None, None, "https://www.zapimoveis.com.br/imovel/venda-apartamento-2-quartos-vila-mariana/", {},
             Channel.PORTALS),
            (None, None, "https://sp.olx.com.br/sao-paulo-e-regiao/imoveis/apartamento-123", {}, Channel.PORTALS),
            ("vivareal", "referral", None, {}, Channel.PORTALS),
            ("quintoandar.com.br", "cpc", None, {}, Channel.PORTALS),
            ("site-parceiro", "portal", None, {}, Channel.PORTALS),
            ("chavesnamao", None, None, {}, Channel.PORTALS),
            (None, None, "https://wa.me/5511987654321", {}, Channel.WHATSAPP),
            (None, None, "https://api.whatsapp.com/send?phone=5511987654321", {}, Channel.WHATSAPP),
            ("whatsapp", "botao-site", None, {}, Channel.WHATSAPP),
            (None, None, None, {"ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO"},
             Channel.WHATSAPP_ADS),
            ("facebook", "cpc", None, {"ctwa_clid": "ARAkLkA8"}, Channel.WHATSAPP_ADS),
            ("whatsapp", "paid_social", None, {}, Channel.WHATSAPP_ADS),
            ("facebook", "lead_ads", None, {}, Channel.LEAD_ADS),
            ("meta_lead_ads", None, None, {}, Channel.LEAD_ADS),
        ],
    )  # fmt: skip
    def test_real_estate_sources_get_their_own_channel(
        self,
        source: str | None,
        medium: str | None,
        referrer: str | None,
        click_ids: dict[str, str],
        expected: Channel,
    ) -> None:
        assert group(source, medium, None, referrer, **click_ids) == expected


class TestVisitsWithoutUtm:
    @pytest.mark.parametrize(
        ("referrer", "click_ids", "expected"),
        [
            (None, {}, Channel.DIRECT),
            ("", {}, Channel.DIRECT),
            ("https://www.google.com.br/", {}, Channel.ORGANIC_SEARCH),
            ("android-app://com.google.android.googlequicksearchbox/", {}, Channel.ORGANIC_SEARCH),
            ("https://busca.uol.com.br/web/?q=apartamento+vila+mariana", {}, Channel.ORGANIC_SEARCH),
            ("https://www.bing.com/search?q=imobiliaria", {}, Channel.ORGANIC_SEARCH),
            ("https://l.facebook.com/l.php?u=https%3A%2F%2Faurora.com.br", {}, Channel.ORGANIC_SOCIAL),
            ("https://lm.facebook.com/", {}, Channel.ORGANIC_SOCIAL),
            ("https://l.instagram.com/", {}, Channel.ORGANIC_SOCIAL),
            ("https://t.co/AbC123", {}, Channel.ORGANIC_SOCIAL),
            ("https://www.youtube.com/", {}, Channel.ORGANIC_VIDEO),
            ("https://www.mercadolivre.com.br/", {}, Channel.ORGANIC_SHOPPING),
            ("https://blogdoimovel.com.br/melhores-bairros", {}, Channel.REFERRAL),
            (None, {"gclid": "Cj0KCQjw"}, Channel.PAID_SEARCH),
            (None, {"gbraid": "0AAAAAo"}, Channel.PAID_SEARCH),
            (None, {"wbraid": "CkgKCQjw"}, Channel.PAID_SEARCH),
            (None, {"msclkid": "a1b2c3"}, Channel.PAID_SEARCH),
            (None, {"ttclid": "E.C.P.abc"}, Channel.PAID_SOCIAL),
            (None, {"li_fat_id": "3f7a1b2c"}, Channel.PAID_SOCIAL),
            # contracts §1.7: fbclid is on organic shares too, so it names facebook but never implies paid
            (None, {"fbclid": "IwAR2xYz"}, Channel.ORGANIC_SOCIAL),
            ("https://www.google.com.br/", {"gclid": "Cj0KCQjw"}, Channel.PAID_SEARCH),
        ],
    )
    def test_the_referrer_or_click_id_stands_in_for_utm(
        self, referrer: str | None, click_ids: dict[str, str], expected: Channel
    ) -> None:
        assert group(referrer=referrer, **click_ids) == expected

    def test_utm_wins_over_a_click_id(self) -> None:
        assert group("newsletter", "email", None, None, gclid="Cj0KCQjw") == Channel.EMAIL

    def test_a_click_id_gives_its_medium_to_a_utm_source_without_one(self) -> None:
        assert group("google", None, None, None, gclid="Cj0KCQjw") == Channel.PAID_SEARCH
        assert group("facebook", None, None, None, fbclid="IwAR") != Channel.PAID_SOCIAL  # fbclid proves no ad

    def test_an_empty_click_id_is_ignored(self) -> None:
        assert group(gclid="  ") == Channel.DIRECT

    def test_a_medium_without_source_still_counts(self) -> None:
        assert group(medium="email") == Channel.EMAIL


class TestNormalizeSourceMedium:
    def test_utm_values_are_trimmed_and_lower_cased(self) -> None:
        assert normalize_source_medium(source=" Google ", medium="CPC", referrer=None, click_ids={}) == (
            "google",
            "cpc",
        )

    def test_a_source_without_medium_has_medium_not_set(self) -> None:
        assert normalize_source_medium(source="instagram", medium=None, referrer=None, click_ids={}) == (
            "instagram",
            "(not set)",
        )

    def test_gclid_implies_google_cpc(self) -> None:
        assert normalize_source_medium(source=None, medium=None, referrer=None, click_ids={"gclid": "x"}) == (
            "google",
            "cpc",
        )

    def test_a_search_engine_referrer_is_organic_and_loses_its_www(self) -> None:
        result = normalize_source_medium(source=None, medium=None, referrer="https://www.google.com.br/", click_ids={})
        assert result == ("google.com.br", "organic")

    def test_another_site_is_a_referral(self) -> None:
        result = normalize_source_medium(source=None, medium=None, referrer="https://www.secovi.com.br/x", click_ids={})
        assert result == ("secovi.com.br", "referral")

    def test_nothing_at_all_is_direct(self) -> None:
        assert normalize_source_medium(source="", medium=" ", referrer=None, click_ids={}) == ("(direct)", "(none)")


class TestReferrerHost:
    @pytest.mark.parametrize(
        ("referrer", "host"),
        [
            ("https://WWW.Google.com.br/search?q=x", "www.google.com.br"),
            ("wa.me/5511987654321", "wa.me"),
            ("http://[::1", None),
            ("   ", None),
            (None, None),
        ],
    )
    def test_the_host_is_read_or_none(self, referrer: str | None, host: str | None) -> None:
        assert referrer_host(referrer) == host


class TestSourceLists:
    @pytest.mark.parametrize(
        ("source", "names"),
        [
            ("google.com.br", SEARCH_SOURCES),
            ("images.google.com.br", SEARCH_SOURCES),
            ("busca.bol.uol.com.br", SEARCH_SOURCES),
            ("instagram", SOCIAL_SOURCES),
            ("www.linkedin.com", SOCIAL_SOURCES),
            ("pinterest", SOCIAL_SOURCES),
            ("youtube", VIDEO_SOURCES),
            ("produto.mercadolivre.com.br", SHOPPING_SOURCES),
        ],
    )
    def test_known_sources_and_their_subdomains_are_listed(self, source: str, names: frozenset[str]) -> None:
        assert in_list(source, names)

    def test_a_news_portal_on_a_search_engines_domain_is_not_search(self) -> None:
        assert not in_list("www.uol.com.br", SEARCH_SOURCES)


class TestNeverRaises:
    text = st.none() | st.text(max_size=80) | st.sampled_from(["google", "cpc", "(direct)", "wa.me", "email", ""])

    @given(
        source=text,
        medium=text,
        campaign=text,
        referrer=text | st.text(alphabet="htps:/[]@?#.%wa", max_size=40),
        click_ids=st.dictionaries(st.sampled_from(["gclid", "fbclid", "ctwa_clid", "x"]) | st.text(), st.text()),
    )
    def test_any_strings_give_a_known_channel(
        self,
        source: str | None,
        medium: str | None,
        campaign: str | None,
        referrer: str | None,
        click_ids: dict[str, str],
    ) -> None:
        result = channel_group(source=source, medium=medium, campaign=campaign, referrer=referrer, click_ids=click_ids)
        assert result in set(Channel)
        effective = normalize_source_medium(source=source, medium=medium, referrer=referrer, click_ids=click_ids)
        assert all(effective)
