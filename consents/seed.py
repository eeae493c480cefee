"""The purposes the policy names, their data categories, and policy version 1.

Version 1 is ``consents/policy/v1.en.md`` (the policy as written, in Markdown)
and its zh-hans translation; it is published and material, so every account
accepts it expressly (at sign-up, or on the acceptance page for accounts made
before it existed).

``seed`` is idempotent and takes an app registry, so the data migration runs it
with historical models and the test suite re-runs it after tables are flushed.
"""

from pathlib import Path

from django.utils import timezone

POLICY_DIR = Path(__file__).resolve().parent / "policy"

CATEGORIES = [
    ("phone_number", "手机号", "Mobile number"),
    # The login password is a category of its own, used only to sign the user in: the
    # profile is shared and disclosed under separate consent, the password never is.
    ("profile", "账户资料（昵称、头像）", "Profile (nickname, avatar)"),
    (
        "login_password",
        "登录密码（仅保存加密后的校验值）",
        "Login password (kept only as a salted hash)",
    ),
    (
        "device_information",
        "设备信息（设备型号、浏览器、操作系统）",
        "Device information (model, browser, operating system)",
    ),
    ("ip_address", "IP 地址", "IP address"),
    ("sign_in_records", "登录记录", "Sign-in records"),
    ("browsing_records", "浏览记录", "Browsing records"),
    ("search_records", "搜索记录", "Search records"),
]

PURPOSES = [
    (
        "account",
        "basic",
        False,
        "账户与身份验证",
        "Account and identity",
        "依照法律法规要求，您需要提供手机号以创建账户；我们据此验证您的身份，确保是在为您本人提供服务（政策第 2.4.1(1) 条）。这是基本功能，无法单独关闭。",
        "The law requires a mobile number to create an account; we use it to verify that it is you we are serving (policy 2.4.1(1)). This is a basic function and cannot be switched off on its own.",
        ["phone_number", "profile", "login_password"],
    ),
    (
        "security",
        "basic",
        False,
        "安全保障与防欺诈",
        "Security and fraud prevention",
        "为保障您的账户和交易安全，我们记录登录时间、设备信息与 IP 地址，用于发现和阻止异常登录与欺诈（政策第 2.4.1(3) 条）。这是基本功能，无法单独关闭。",
        "To keep your account and transactions safe we record sign-ins with device information and IP address, to spot and stop unusual sign-ins and fraud (policy 2.4.1(3)). This is a basic function and cannot be switched off on its own.",
        ["device_information", "ip_address", "sign_in_records"],
    ),
    (
        "personalisation",
        "additional",
        False,
        "个性化展示",
        "Personalised display",
        "开启后，我们记录您的浏览与搜索记录，用于向您展示更符合您需要的信息（政策第 2.4.1(2) 条）。关闭后立即停止记录；您可随时查看和删除这些记录。",
        "When on, we record your browsing and search records to show you information that fits your needs better (policy 2.4.1(2)). Switching it off stops the recording at once; you can see and delete the records at any time.",
        ["browsing_records", "search_records"],
    ),
    (
        "third_party_sharing",
        "additional",
        True,
        "向第三方共享",
        "Sharing with third parties",
        "开启后，我们可以在告知您接收方、目的和信息种类的前提下，向第三方共享您的个人信息（政策第 3.1 条）。需要您单独同意；您可以在“我的数据”中看到谁收到了哪些信息。",
        "When on, we may share your personal information with third parties, having told you who receives it, why and which kinds (policy 3.1). This needs your separate consent; 'My data' shows who received what.",
        ["phone_number", "profile", "browsing_records", "search_records"],
    ),
    (
        "public_disclosure",
        "additional",
        True,
        "公开披露",
        "Public disclosure",
        "开启后，在告知您目的和信息种类的前提下，我们可以公开披露您的个人信息（政策第 3.3 条）。需要您单独同意。",
        "When on, we may publicly disclose your personal information, having told you why and which kinds (policy 3.3). This needs your separate consent.",
        ["profile"],
    ),
    (
        "cross_border",
        "additional",
        True,
        "境外存储或传输",
        "Storage or transfer outside the PRC",
        "开启后，您的个人信息可以存储于或传输至中华人民共和国境外（政策第 5.3.2 条）。需要您单独同意；关闭时，您的个人信息仅在境内存储。",
        "When on, your personal information may be stored or transferred outside the People's Republic of China (policy 5.3.2). This needs your separate consent; while it is off your information stays in the PRC.",
        ["phone_number", "profile", "browsing_records", "search_records"],
    ),
    (
        "new_purpose_research",
        "additional",
        True,
        "用于新目的或可识别的研究",
        "Use for a new purpose or identifiable research",
        "开启后，我们可以将您的个人信息用于本政策未载明的新目的，或用于能够识别您身份的研究（政策第 2.4.2 条）。需要您单独同意。",
        "When on, we may use your personal information for a purpose this policy does not state, or for research that can identify you (policy 2.4.2). This needs your separate consent.",
        ["browsing_records", "search_records"],
    ),
]


def seed(apps) -> None:
    DataCategory = apps.get_model("consents", "DataCategory")
    Purpose = apps.get_model("consents", "Purpose")
    PolicyVersion = apps.get_model("consents", "PolicyVersion")
    LedgerHead = apps.get_model("consents", "LedgerHead")

    categories = {}
    for code, name_zh, name_en in CATEGORIES:
        categories[code], _ = DataCategory.objects.get_or_create(
            code=code, defaults={"name_zh_hans": name_zh, "name_en": name_en}
        )
    for position, (code, kind, separate, name_zh, name_en, desc_zh, desc_en, cats) in enumerate(
        PURPOSES
    ):
        purpose, created = Purpose.objects.get_or_create(
            code=code,
            defaults={
                "kind": kind,
                "requires_separate_consent": separate,
                "name_zh_hans": name_zh,
                "name_en": name_en,
                "description_zh_hans": desc_zh,
                "description_en": desc_en,
                "position": position,
            },
        )
        if created:
            purpose.data_categories.set([categories[c] for c in cats])

    if not PolicyVersion.objects.filter(number=1).exists():
        now = timezone.now()
        PolicyVersion.objects.create(
            number=1,
            status="published",
            title_zh_hans="个人信息保护政策",
            title_en="Personal information protection policy",
            body_zh_hans=(POLICY_DIR / "v1.zh-hans.md").read_text(encoding="utf-8"),
            body_en=(POLICY_DIR / "v1.en.md").read_text(encoding="utf-8"),
            summary_zh_hans="首个版本。",
            summary_en="First version.",
            is_material=True,
            created_at=now,
            published_at=now,
        )
    LedgerHead.objects.get_or_create(id=1)
