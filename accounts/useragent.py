"""A device's user-agent string in a few words: the browser and the operating system.

People recognise "WeChat 8 (Android 14)", not 140 characters of "Mozilla/5.0 (Linux; …)".
No parser library is installed (uv.lock), and a summary needs only the common browsers
and systems, so this reads the tokens those put in the string. The full string is kept
and shown on demand; an unknown one is summarised as "other device", never guessed.

The order of the checks matters: almost every browser also says "Safari" and most say
"Chrome", so the specific ones (apps with a built-in browser, Chinese browsers, Edge,
Opera, Samsung) are looked for before Chrome, and Chrome before Safari.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

# (name, pattern with the version in group 1). The first match names the browser.
_BROWSERS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("WeChat", r"MicroMessenger/(\d+)"),
        ("WeCom", r"wxwork/(\d+)"),
        ("DingTalk", r"DingTalk/(\d+)"),
        ("Alipay", r"AlipayClient/(\d+)"),
        ("QQ", r"\bQQ/(\d+)"),
        ("QQ Browser", r"M?QQBrowser/(\d+)"),
        ("UC Browser", r"UCBrowser/(\d+)"),
        ("Quark", r"Quark/(\d+)"),
        ("Baidu", r"baiduboxapp/(\d+)"),
        ("Huawei Browser", r"HuaweiBrowser/(\d+)"),
        ("Xiaomi Browser", r"MiuiBrowser/(\d+)"),
        ("Vivo Browser", r"VivoBrowser/(\d+)"),
        ("OPPO Browser", r"HeyTapBrowser/(\d+)"),
        ("Samsung Internet", r"SamsungBrowser/(\d+)"),
        ("360 Browser", r"(?:QihooBrowser|QHBrowser|360SE|360EE)(?:/(\d+))?"),
        ("Sogou Browser", r"(?:SogouMobileBrowser|SE 2\.X MetaSr)(?:/?(\d+))?"),
        ("Edge", r"\b(?:Edg|EdgA|EdgiOS|Edge)/(\d+)"),
        ("Opera", r"\b(?:OPR|OPT|OPX)/(\d+)"),
        ("Firefox", r"\b(?:Firefox|FxiOS)/(\d+)"),
        ("Chrome", r"\b(?:HeadlessChrome|Chrome|CriOS)/(\d+)"),
        ("Safari", r"\bVersion/(\d+)(?:\.\d+)*(?: Mobile/\w+)? Safari/"),
        ("Internet Explorer", r"(?:MSIE (\d+)|Trident/.*\brv:(\d+))"),
        # Programs rather than browsers: named too, so that a script is recognisable.
        ("curl", r"^curl/(\d+)"),
        # A library's version says nothing to a person: just the language.
        ("Python", r"^(?:python-requests|python-httpx|Python-urllib|aiohttp)/"),
    )
)

_IOS = re.compile(r"\b(iPhone|iPad|iPod)\b.*?\bOS (\d+)(?:_(\d+))?", re.IGNORECASE)
_ANDROID = re.compile(r"\bAndroid[ /]?(\d+)(?:\.(\d+))?", re.IGNORECASE)
_HARMONY = re.compile(r"\b(?:OpenHarmony|HarmonyOS)(?:[ /](\d+)(?:\.(\d+))?)?", re.IGNORECASE)
_WINDOWS = re.compile(r"\bWindows NT (\d+\.\d+)", re.IGNORECASE)
# Windows NT 10.0 is what both Windows 10 and 11 send.
_WINDOWS_NAMES = {"10.0": "10/11", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista"}


@dataclass(frozen=True)
class Device:
    browser: str
    system: str
    full: str

    @property
    def summary(self) -> str:
        """What a person reads: "Chrome 120 (Android 14)", or as much of it as is known."""
        if self.browser and self.system:
            return _("%(browser)s (%(system)s)") % {
                "browser": self.browser,
                "system": self.system,
            }
        if self.browser or self.system:
            return self.browser or self.system
        return _("Other device") if self.full else ""

    def __str__(self) -> str:
        return self.summary


def _version(*parts: str | None) -> str:
    # "14.0" reads as "14"; "8.1" stays.
    shown = [part for part in parts if part is not None]
    while len(shown) > 1 and shown[-1] == "0":
        shown.pop()
    return ".".join(shown)


def _browser(user_agent: str) -> str:
    for name, pattern in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            number = next((group for group in match.groups() if group), None)
            return f"{name} {number}" if number else name
    return ""


def _system(user_agent: str) -> str:
    match = _IOS.search(user_agent)
    if match:
        name = "iPadOS" if match[1].lower() == "ipad" else "iOS"
        return f"{name} {_version(match[2], match[3])}"
    match = _HARMONY.search(user_agent)
    if match:
        return f"HarmonyOS {_version(match[1], match[2])}".strip()
    match = _ANDROID.search(user_agent)
    if match:
        return f"Android {_version(match[1], match[2])}"
    match = _WINDOWS.search(user_agent)
    if match:
        version = _WINDOWS_NAMES.get(match[1])
        return f"Windows {version}" if version else "Windows"
    if re.search(r"\bWindows\b", user_agent):
        return "Windows"
    if re.search(r"\bCrOS\b", user_agent):
        return "ChromeOS"
    if re.search(r"\bMac OS X\b|\bMacintosh\b", user_agent):
        # Browsers froze the number at 10.15.7: it says nothing about the real version.
        return "macOS"
    if re.search(r"\bLinux\b|\bX11\b", user_agent):
        return "Linux"
    return ""


def device_from(user_agent: str | None) -> Device:
    """The browser and system a user-agent string names ("" for what it does not say)."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return Device(browser="", system="", full="")
    return Device(browser=_browser(user_agent), system=_system(user_agent), full=user_agent)


def summarise(user_agent: str | None) -> str:
    return device_from(user_agent).summary
