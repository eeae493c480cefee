"""Demo data for a newcomer's portal: idempotent, safe to run at every start."""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_STAFF_PHONE = "+8613800000000"
DEMO_STAFF_PASSWORD = "demo-staff-only"  # noqa: S105  (a demo login, printed on purpose)


class Command(BaseCommand):
    help = "Create the demo data: a staff login for the admin desk (printed)."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        staff, created = User.objects.get_or_create(
            phone=DEMO_STAFF_PHONE,
            defaults={
                "is_staff": True,
                "is_superuser": True,
                "phone_verified": True,
                "nickname": "Demo staff",
            },
        )
        if created:
            staff.set_password(DEMO_STAFF_PASSWORD)
            staff.save(update_fields=["password"])
        self.stdout.write(
            self.style.SUCCESS(
                "Demo staff login for /admin/: "
                f"mobile number {DEMO_STAFF_PHONE}, password {DEMO_STAFF_PASSWORD}"
                + ("" if created else " (already there)")
            )
        )
        if Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
            second_factor = "The desk will ask for a code from its authenticator app."
        elif settings.STAFF_REQUIRE_MFA:
            second_factor = (
                "It has no second factor yet: the desk sends it to set up an authenticator app."
            )
        else:
            second_factor = (
                "No second factor needed in development; production (DEBUG=false) or "
                "STAFF_REQUIRE_MFA=true requires one. To add one now, sign in and open "
                "/accounts/2fa/ (any TOTP app: Google Authenticator, FreeOTP, ...)."
            )
        self.stdout.write(f"  {second_factor}")
