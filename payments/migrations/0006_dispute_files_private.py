"""Dispute evidence moves out of the public media storage into the private one, under random names.

Until now proof files were kept at `disputes/<year>/<month>/<the uploader's name>` in the default
storage, which the demo serves at /media/ to anyone and which is the bucket of public listing images
in production. Each existing file is copied into the private storage (`marketplace.storage`) as
`disputes/<dispute id>/<uuid>.<extension of its type>`, its row is pointed at the copy, and the public
copy is deleted once the migration has committed. Rows keep everything else (the uploader's name,
the Stripe file id); a file already gone from the public storage is left as it was, and said so.
"""

import uuid

from django.core.files.storage import storages
from django.db import migrations, models, transaction

import marketplace.storage
import payments.models

EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def _move(apps, schema_editor, *, source, target, name_for):
    DisputeFile = apps.get_model("payments", "DisputeFile")
    moved = []
    for row in DisputeFile.objects.order_by("pk"):
        old = row.file.name
        if not old or not source.exists(old):
            if old and not target.exists(old):
                print(f"\n  dispute file {row.pk}: {old} is in neither storage; its row is left as it was")
            continue
        with source.open(old, "rb") as fh:
            new = target.save(name_for(row), fh)
        DisputeFile.objects.filter(pk=row.pk).update(file=new)
        moved.append(old)
    transaction.on_commit(lambda: [source.delete(name) for name in moved])


def to_private(apps, schema_editor):
    def name_for(row):
        return f"disputes/{row.dispute_id}/{uuid.uuid4().hex}.{EXTENSIONS.get(row.content_type, 'bin')}"

    _move(
        apps,
        schema_editor,
        source=storages["default"],
        target=marketplace.storage.private_storage_get(),
        name_for=name_for,
    )


def to_public(apps, schema_editor):
    """Back as the code before this migration reads them (public again: only to undo a deploy)."""

    def name_for(row):
        return f"disputes/{row.created_at:%Y/%m}/{row.file.name.rsplit('/', 1)[-1]}"

    _move(
        apps,
        schema_editor,
        source=marketplace.storage.private_storage_get(),
        target=storages["default"],
        name_for=name_for,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_seller_debt_per_dispute_and_seller"),
    ]

    operations = [
        migrations.AlterField(
            model_name="disputefile",
            name="file",
            field=models.FileField(
                max_length=255,
                storage=marketplace.storage.private_storage_get,
                upload_to=payments.models.dispute_file_path,
            ),
        ),
        migrations.AlterField(
            model_name="disputefile",
            name="filename",
            field=models.CharField(help_text="The uploader's name for it, for display only.", max_length=200),
        ),
        migrations.RunPython(to_private, to_public),
    ]
