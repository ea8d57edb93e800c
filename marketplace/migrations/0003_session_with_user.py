"""Sessions move to `marketplace_session`, which keeps the signed-in user's id beside the data (see
`marketplace.models.Session`). Unexpired sessions are copied over with their user's id, so nobody is
signed out by the change; Django's table stays, unused, for Django's own app."""

from django.db import migrations, models
from django.utils import timezone

BATCH = 2_000


def copy_sessions(apps, schema_editor):  # type: ignore[no-untyped-def]
    from django.contrib.auth import SESSION_KEY

    from marketplace.sessions import SessionStore

    old = apps.get_model("sessions", "Session")
    new = apps.get_model("marketplace", "Session")
    store = SessionStore()
    rows = old.objects.filter(expire_date__gt=timezone.now()).order_by("pk")
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        try:
            user_id = int(store.decode(row.session_data).get(SESSION_KEY))
        except (TypeError, ValueError):
            user_id = None
        batch.append(
            new(
                session_key=row.session_key, session_data=row.session_data, expire_date=row.expire_date, user_id=user_id
            )
        )
        if len(batch) >= BATCH:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0002_platform_admins_group"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Session",
            fields=[
                (
                    "session_key",
                    models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name="session key"),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                ("user_id", models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "marketplace_session",
                "abstract": False,
            },
        ),
        migrations.RunPython(copy_sessions, migrations.RunPython.noop),
    ]
