from django.db import migrations

from consents.seed import seed


def forwards(apps, schema_editor):
    seed(apps)


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
