from django.conf import settings
from django.core.checks import Tags, Warning, register

DEVELOPMENT_SMS_BACKENDS = {
    "privacyportal.sms.backends.console.SmsBackend": "prints codes on standard output",
    "privacyportal.sms.backends.filebased.SmsBackend": "writes codes to files on disk",
    "privacyportal.sms.backends.locmem.SmsBackend": "keeps codes in memory and sends nothing",
}


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs):
    """A production portal must send real text messages, and never keep codes in the clear."""
    reason = DEVELOPMENT_SMS_BACKENDS.get(settings.SMS_BACKEND)
    if reason is None:
        return []
    return [
        Warning(
            f"SMS_BACKEND is {settings.SMS_BACKEND}, which {reason}.",
            hint="Set SMS_BACKEND=privacyportal.sms.backends.http.SmsBackend with "
            "SMS_HTTP_ENDPOINT and SMS_HTTP_API_KEY.",
            id="privacyportal.W001",
        )
    ]
