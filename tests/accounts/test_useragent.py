"""User-agent strings summarised as browser and system (accounts/useragent.py)."""

import pytest
from django.utils import translation

from accounts.useragent import device_from, summarise

# Real strings as browsers and apps send them, with what a person should read.
CASES = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "Chrome 120",
        "Windows 10/11",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        "Edge 120",
        "Windows 10/11",
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
        "Firefox 115",
        "Windows 7",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.2 Safari/605.1.15",
        "Safari 17",
        "macOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        "Safari 17",
        "iOS 17.2",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
        "Chrome 119",
        "iPadOS 16.6",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 MicroMessenger/8.0.43(0x18002b2c) NetType/WIFI "
        "Language/zh_CN",
        "WeChat 8",
        "iOS 17.1",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 "
        "XWEB/5023 MMWEBSDK/20230405 MMWEBID/2585 MicroMessenger/8.0.35.2360(0x2800235B) "
        "WeChat/arm64 Weixin NetType/5G Language/zh_CN ABI/arm64",
        "WeChat 8",
        "Android 13",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 12; zh-cn; M2102K1C Build/SKQ1.211006.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.127 Mobile "
        "Safari/537.36 XiaoMi/MiuiBrowser/17.4.80612 swan-mibrowser",
        "Xiaomi Browser 17",
        "Android 12",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 11; zh-CN; PCAM00 Build/RKQ1.201217.002) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 "
        "UCBrowser/15.5.0.1280 Mobile Safari/537.36",
        "UC Browser 15",
        "Android 11",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 10; zh-cn; V1950A Build/QP1A.190711.020) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 "
        "MQQBrowser/13.6 Mobile Safari/537.36 COVC/046527",
        "QQ Browser 13",
        "Android 10",
    ),
    (
        "Mozilla/5.0 (Phone; OpenHarmony 4.1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.4.300",
        "Huawei Browser 5",
        "HarmonyOS 4.1",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S9180) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "Samsung Internet 23",
        "Android 14",
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        "Firefox 121",
        "Android 14",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.6778.85 Safari/537.36",
        "Chrome 131",
        "Linux",
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
        "Opera 106",
        "ChromeOS",
    ),
    (
        "Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
        "Internet Explorer 11",
        "Windows 8.1",
    ),
    ("curl/8.5.0", "curl 8", ""),
    ("python-httpx/0.27.0", "Python", ""),
]


@pytest.mark.parametrize(("user_agent", "browser", "system"), CASES)
def test_common_browsers_and_systems_are_named(user_agent, browser, system):
    device = device_from(user_agent)
    assert (device.browser, device.system) == (browser, system)
    assert device.full == user_agent


def test_the_summary_reads_as_browser_and_system_in_the_readers_language():
    user_agent = CASES[7][0]
    with translation.override("en"):
        assert summarise(user_agent) == "WeChat 8 (Android 13)"
    with translation.override("zh-hans"):
        assert summarise(user_agent) == "WeChat 8（Android 13）"


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("", ""),
        (None, ""),
        ("   ", ""),
        ("curl/8.5.0", "curl 8"),
        ("Mozilla/5.0 (Linux; Android 9)", "Android 9"),
        ("TestPhone", "Other device"),
        ("Mozilla/5.0 (compatible; SomeBot/1.0)", "Other device"),
    ],
)
def test_partial_or_unknown_strings_are_not_guessed(user_agent, expected):
    with translation.override("en"):
        assert summarise(user_agent) == expected


def test_a_long_string_is_summarised_in_a_few_words():
    user_agent = CASES[7][0]
    assert len(user_agent) > 250
    assert len(summarise(user_agent)) < 30
