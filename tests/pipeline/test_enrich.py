"""Enrich helpers: attribution from URL and Segment context, device from user agent, contact normalisation."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.pipeline.channels import Channel
from leadflow.pipeline.enrich import (
    MAX_URL_LENGTH,
    MAX_VALUE_LENGTH,
    Attribution,
    ContactProblem,
    Device,
    DeviceType,
    attribution_from_url,
    device_from_user_agent,
    merge_attribution,
    normalize_contact,
)

AURORA = "https://aurora.imobiliaria-exemplo.com.br/residencial-aurora"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.135 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.2903.86"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FACEBOOK_PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


class TestAttributionFromUrl:
    def test_utm_values_and_the_click_id_are_read_from_the_query(self) -> None:
        found = attribution_from_url(
            f"{AURORA}?utm_source=google&utm_medium=cpc&utm_campaign=aurora-lancamento&utm_term=apartamento+2+quartos"
            "&utm_content=anuncio-a&utm_id=123&gclid=Cj0KCQjw",
            "https://www.google.com/",
        )
        assert found.utm_source == "google"
        assert found.utm_medium == "cpc"
        assert found.utm_campaign == "aurora-lancamento"
        assert found.utm_term == "apartamento 2 quartos"
        assert found.utm_content == "anuncio-a"
        assert found.utm_id == "123"
        assert found.gclid == "Cj0KCQjw"
        assert found.channel == Channel.PAID_SEARCH

    def test_the_referrer_and_landing_page_are_kept(self) -> None:
        found = attribution_from_url(f"{AURORA}?utm_source=instagram", "https://l.instagram.com/?u=x")
        assert found.landing_page == f"{AURORA}?utm_source=instagram"
        assert found.referrer == "https://l.instagram.com/?u=x"
        assert found.referrer_host == "l.instagram.com"

    def test_keys_are_case_insensitive(self) -> None:
        found = attribution_from_url(f"{AURORA}?UTM_SOURCE=Instagram&Utm_Medium=paid_social&FBCLID=IwAR2", None)
        assert (found.utm_source, found.utm_medium, found.fbclid) == ("Instagram", "paid_social", "IwAR2")
        assert found.channel == Channel.PAID_SOCIAL

    def test_values_are_trimmed_and_blank_ones_dropped(self) -> None:
        found = attribution_from_url(f"{AURORA}?utm_source=%20google%20&utm_medium=&utm_campaign=+", None)
        assert (found.utm_source, found.utm_medium, found.utm_campaign) == ("google", None, None)

    def test_the_first_value_of_a_repeated_key_wins(self) -> None:
        assert attribution_from_url(f"{AURORA}?utm_source=google&utm_source=bing", None).utm_source == "google"

    def test_long_values_are_cut(self) -> None:
        found = attribution_from_url(f"{AURORA}?utm_campaign={'a' * 1000}", None)
        assert found.utm_campaign == "a" * MAX_VALUE_LENGTH
        assert found.landing_page is not None
        assert len(found.landing_page) <= MAX_URL_LENGTH

    def test_nul_characters_are_removed(self) -> None:
        assert attribution_from_url(f"{AURORA}?utm_source=goo%00gle", None).utm_source == "google"

    def test_the_fragment_is_not_part_of_the_query(self) -> None:
        assert attribution_from_url(f"{AURORA}?utm_source=google#utm_medium=cpc", None).utm_medium is None

    @pytest.mark.parametrize(
        ("query", "referrer", "expected"),
        [
            ("", None, Channel.DIRECT),
            ("", "https://www.google.com.br/", Channel.ORGANIC_SEARCH),
            ("?fbclid=IwAR2xYz", None, Channel.ORGANIC_SOCIAL),
            ("?ctwa_clid=ARAkLkA8", None, Channel.WHATSAPP_ADS),
            ("", "https://www.zapimoveis.com.br/imovel/123", Channel.PORTALS),
            ("", "https://wa.me/5511987654321", Channel.WHATSAPP),
            ("?utm_source=newsletter&utm_medium=email", None, Channel.EMAIL),
        ],
    )
    def test_the_channel_is_computed(self, query: str, referrer: str | None, expected: Channel) -> None:
        assert attribution_from_url(f"{AURORA}{query}", referrer).channel == expected

    def test_click_ids_lists_only_those_present(self) -> None:
        found = attribution_from_url(f"{AURORA}?gclid=abc&msclkid=def&foo=bar", None)
        assert found.click_ids == {"gclid": "abc", "msclkid": "def"}


class TestMergeAttribution:
    page = attribution_from_url(f"{AURORA}?utm_source=google&utm_medium=cpc&utm_campaign=aurora&gclid=Cj0", None)

    def test_segment_campaign_wins_over_the_url(self) -> None:
        merged = merge_attribution(self.page, {"source": "instagram", "medium": "paid_social", "name": "stories"})
        assert (merged.utm_source, merged.utm_medium, merged.utm_campaign) == ("instagram", "paid_social", "stories")
        assert merged.channel == Channel.PAID_SOCIAL

    def test_term_and_content_are_mapped(self) -> None:
        merged = merge_attribution(self.page, {"term": "cobertura", "content": "video-1"})
        assert (merged.utm_term, merged.utm_content) == ("cobertura", "video-1")

    def test_blank_or_missing_campaign_values_keep_the_url_ones(self) -> None:
        merged = merge_attribution(self.page, {"source": " ", "medium": None})  # type: ignore[dict-item]
        assert merged == self.page

    def test_no_campaign_keeps_the_page(self) -> None:
        assert merge_attribution(self.page, None) is self.page

    def test_click_ids_and_referrer_survive_the_merge(self) -> None:
        merged = merge_attribution(self.page, {"source": "bing"})
        assert merged.gclid == "Cj0"
        assert merged.landing_page == self.page.landing_page


class TestDeviceFromUserAgent:
    @pytest.mark.parametrize(
        ("ua", "expected"),
        [
            (IPHONE_SAFARI, Device(DeviceType.MOBILE, "Mobile Safari", "18.5", "iOS", "18.5")),
            (ANDROID_CHROME, Device(DeviceType.MOBILE, "Chrome Mobile", "131.0.6778", "Android", "14")),
            (WINDOWS_EDGE, Device(DeviceType.DESKTOP, "Edge", "131.0.2903", "Windows", "10")),
            (MAC_SAFARI, Device(DeviceType.DESKTOP, "Safari", "18.1", "Mac OS X", "10.15.7")),
            (IPAD, Device(DeviceType.TABLET, "Mobile Safari", "17.5", "iOS", "17.5")),
            (ANDROID_TABLET, Device(DeviceType.TABLET, "Chrome", "131.0.0", "Android", "13")),
        ],
    )
    def test_browsers_are_recognised(self, ua: str, expected: Device) -> None:
        assert device_from_user_agent(ua) == expected

    @pytest.mark.parametrize("ua", [GOOGLEBOT, FACEBOOK_PREVIEW])
    def test_crawlers_are_bots(self, ua: str) -> None:
        assert device_from_user_agent(ua).device_type == DeviceType.BOT

    @pytest.mark.parametrize("ua", ["", "   ", None, "???"])
    def test_empty_or_meaningless_agents_are_unknown(self, ua: str | None) -> None:
        assert device_from_user_agent(ua) == Device()

    def test_a_huge_agent_is_parsed_from_its_start(self) -> None:
        assert device_from_user_agent(IPHONE_SAFARI + " x" * 50_000).os == "iOS"


class TestNormalizeContact:
    def test_email_and_phone_are_normalised(self) -> None:
        contact = normalize_contact(email=" Maria.Souza@Exemplo.COM.BR ", phone="(11) 98765-4321")
        assert (contact.email, contact.phone, contact.problems) == ("maria.souza@exemplo.com.br", "+5511987654321", ())

    def test_an_old_eight_digit_mobile_gains_its_ninth_digit(self) -> None:
        assert normalize_contact(email=None, phone="11 8765-4321").phone == "+5511987654321"

    def test_missing_values_are_not_problems(self) -> None:
        assert normalize_contact(email=None, phone="  ") == normalize_contact(email="", phone=None)
        assert normalize_contact(email=None, phone=None).problems == ()

    def test_invalid_values_become_none_with_a_problem_each(self) -> None:
        contact = normalize_contact(email="maria@", phone="123")
        assert (contact.email, contact.phone) == (None, None)
        assert [problem.field for problem in contact.problems] == ["email", "phone"]
        assert all(isinstance(problem, ContactProblem) and problem.message for problem in contact.problems)

    def test_another_region_reads_local_numbers_there(self) -> None:
        assert normalize_contact(email=None, phone="912 345 678", region="PT").phone == "+351912345678"


class TestNeverRaises:
    @given(landing_page=st.text(), referrer=st.none() | st.text())
    def test_any_url_gives_an_attribution_with_a_known_channel(self, landing_page: str, referrer: str | None) -> None:
        found = attribution_from_url(landing_page, referrer)
        assert found.channel in set(Channel)

    @given(
        query=st.lists(st.tuples(st.sampled_from(["utm_source", "UTM_MEDIUM", "gclid", "ctwa_clid"]), st.text())),
        campaign=st.none() | st.dictionaries(st.sampled_from(["source", "medium", "name", "x"]), st.text()),
    )
    def test_any_query_and_campaign_merge_into_a_known_channel(
        self, query: list[tuple[str, str]], campaign: dict[str, str] | None
    ) -> None:
        url = AURORA + "?" + "&".join(f"{key}={value}" for key, value in query)
        merged = merge_attribution(attribution_from_url(url, None), campaign)
        assert merged.channel in set(Channel)
        assert all(len(value) <= MAX_VALUE_LENGTH for value in merged.click_ids.values())

    @given(ua=st.none() | st.text() | st.sampled_from([IPHONE_SAFARI, GOOGLEBOT]).map(lambda ua: ua[: len(ua) // 2]))
    def test_any_user_agent_gives_a_device(self, ua: str | None) -> None:
        assert device_from_user_agent(ua).device_type in set(DeviceType)

    @given(
        email=st.none() | st.text() | st.emails(), phone=st.none() | st.text() | st.from_regex(r"\+?[0-9 ()-]{0,20}")
    )
    def test_any_contact_gives_values_or_problems(self, email: str | None, phone: str | None) -> None:
        contact = normalize_contact(email=email, phone=phone)
        assert contact.email is None or "@" in contact.email
        assert contact.phone is None or contact.phone.startswith("+")


class TestAttributionIsImmutable:
    def test_fields_cannot_be_changed(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            Attribution().channel = "Referral"  # type: ignore[misc]
