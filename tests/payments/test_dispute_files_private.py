"""Proof files are private: stored outside the public media storage under a random name with the
extension of the type found in their bytes, and read only by the dispute's seller and the platform
admins, as downloads (attachment, the found type, nosniff). What an attacker did to the demo: upload
`x.html` starting with `%PDF-` and read it anonymously, as a page, at /media/disputes/<y>/<m>/x.html."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from moto import mock_aws

from payments.disputes import dispute_evidence_save
from payments.models import Dispute, DisputeFile
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import process
from tests.payments.test_disputes import disputed_order

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
POLYGLOT = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"
STORED = re.compile(r"disputes/\d+/[0-9a-f]{32}\.pdf")


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    media, private = tmp_path / "media", tmp_path / "private"
    with override_settings(
        MEDIA_ROOT=str(media), PRIVATE_MEDIA_ROOT=str(private), ROOT_URLCONF="tests.payments.demo_media_urls"
    ):
        yield media, private


def _opened(sandbox: Any) -> tuple[Any, Any, Dispute]:
    seller, order, events = disputed_order(sandbox)
    assert "failed" not in process(events)
    return seller, order, Dispute.objects.get()


def _upload_polyglot(seller: Any, dispute: Dispute) -> DisputeFile:
    upload = SimpleUploadedFile("x.html", POLYGLOT, content_type="text/html")
    r = signed_in(seller.user).post(
        f"/api/v1/seller/disputes/{dispute.pk}/files", {"file": upload, "evidence_field": "uncategorized_file"}
    )
    assert r.status_code == 201, r.content
    return DisputeFile.objects.get()


def _assert_download(response: Any) -> None:
    assert response.status_code == 200
    assert b"".join(response) == POLYGLOT
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="x.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_html_named_pdf_is_kept_private_under_a_random_pdf_name(sandbox: Any, folders: tuple[Path, Path]) -> None:
    media, private = folders
    seller, _, dispute = _opened(sandbox)
    row = _upload_polyglot(seller, dispute)

    # Stored under a uuid with the extension of the type found, in the private folder only.
    assert STORED.fullmatch(row.file.name), row.file.name
    assert row.file.name.startswith(f"disputes/{dispute.pk}/")
    assert (row.filename, row.content_type) == ("x.html", "application/pdf")
    assert (private / row.file.name).read_bytes() == POLYGLOT
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True

    # Nobody reads it at the public media URL: not at the old-style path, not at the new name.
    anonymous = Client()
    old_style = f"/media/disputes/{timezone.now():%Y/%m}/x.html"
    assert anonymous.get(old_style).status_code == 404
    assert anonymous.get(f"/media/{row.file.name}").status_code == 404
    with pytest.raises(ValueError, match="no URL"):
        _ = row.file.url

    # Stripe gets the file under the name of its type, and the same bytes.
    dispute_evidence_save(dispute=dispute, evidence={"uncategorized_text": "See the file"}, submit=False)
    row.refresh_from_db()
    from marketplace import gateway

    at_stripe = gateway.client().v1.files.retrieve(row.stripe_file_id)
    assert (at_stripe.filename, at_stripe.type, at_stripe.size) == ("x.pdf", "pdf", len(POLYGLOT))


def test_only_the_disputes_seller_and_admins_download_proof_as_an_attachment(
    sandbox: Any, folders: tuple[Path, Path]
) -> None:
    seller, order, dispute = _opened(sandbox)
    row = _upload_polyglot(seller, dispute)
    sell_url = f"/sell/disputes/{dispute.pk}/files/{row.pk}/"
    console_url = f"/console/disputes/{dispute.pk}/files/{row.pk}/"
    owner, admin = signed_in(seller.user), signed_in(make_platform_admin())

    _assert_download(owner.get(sell_url))
    _assert_download(admin.get(console_url))
    assert f'href="{sell_url}"' in owner.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert f'href="{console_url}"' in admin.get(f"/console/disputes/{dispute.pk}/").content.decode()

    other_seller = signed_in(active_seller(sandbox, shop="Other shop").user)
    buyer = signed_in(order.buyer)
    for client in (other_seller, buyer):
        assert client.get(sell_url).status_code == 404
        assert client.get(console_url).status_code in (403, 404)
    anonymous = Client()
    for url in (sell_url, console_url):
        r = anonymous.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    # A file of another dispute, or none, through the seller's own dispute: not found.
    assert owner.get(f"/sell/disputes/{dispute.pk}/files/999999/").status_code == 404


def _production_storages(**env: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_BACKEND"))}
    environ |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x7!" + "k2Pq9vZr4tLm8wNb3yHc6jFd1sGa5eUo0iXy" * 2,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://shop@db.internal:5432/shop",
        "AWS_STORAGE_BUCKET_NAME": "marketplace-media",
        **env,
    }
    code = "import django, json; django.setup(); from django.conf import settings; print(json.dumps(settings.STORAGES))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_production_keeps_proof_in_a_private_s3_location() -> None:
    storages = _production_storages()
    private = storages["private"]
    assert private["BACKEND"] == "storages.backends.s3.S3Storage"
    assert private["OPTIONS"]["bucket_name"] == "marketplace-media"
    assert private["OPTIONS"]["location"] == "private"
    assert private["OPTIONS"]["default_acl"] is None  # no public ACL, whatever AWS_DEFAULT_ACL says
    assert private["OPTIONS"]["querystring_auth"] is True
    other_bucket = _production_storages(AWS_PRIVATE_STORAGE_BUCKET_NAME="marketplace-private")
    assert other_bucket["private"]["OPTIONS"]["bucket_name"] == "marketplace-private"
    assert other_bucket["default"] == storages["default"]


@mock_aws
def test_proof_in_s3_is_private_and_read_back_for_stripe_and_the_admin(sandbox: Any) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="marketplace-media")
    storages = _production_storages()
    storages["default"]["OPTIONS"] = {"bucket_name": "marketplace-media", "region_name": "us-east-1"}
    storages["private"]["OPTIONS"]["region_name"] = "us-east-1"
    storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    seller, _, dispute = _opened(sandbox)
    with override_settings(STORAGES=storages, AWS_DEFAULT_ACL="public-read"):
        row = _upload_polyglot(seller, dispute)
        key = f"private/{row.file.name}"
        assert STORED.fullmatch(row.file.name)
        assert s3.get_object(Bucket="marketplace-media", Key=key)["Body"].read() == POLYGLOT
        grants = s3.get_object_acl(Bucket="marketplace-media", Key=key)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
        assert not [g for g in grants if g["Grantee"].get("URI", "").endswith(("AllUsers", "AuthenticatedUsers"))]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="marketplace-media")["Contents"]]
        assert keys == [key]  # nothing at the public listing images' paths
        _assert_download(signed_in(make_platform_admin()).get(f"/console/disputes/{dispute.pk}/files/{row.pk}/"))
        dispute_evidence_save(dispute=dispute, evidence={"uncategorized_text": "See the receipt"}, submit=True)
    row.refresh_from_db()
    from marketplace import gateway

    at_stripe = gateway.client().v1.files.retrieve(row.stripe_file_id)
    assert (at_stripe.size, at_stripe.purpose, at_stripe.type) == (len(POLYGLOT), "dispute_evidence", "pdf")


def test_the_migration_moves_existing_public_proof_into_the_private_storage(
    sandbox: Any, folders: tuple[Path, Path], django_capture_on_commit_callbacks: Any
) -> None:
    """Rows from before keep working: each file is moved out of MEDIA_ROOT under a random name of its
    type, the row keeps its name for people and its Stripe id, and the public copy is gone."""
    from django.apps import apps
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    migration = importlib.import_module("payments.migrations.0006_dispute_files_private")
    media, private = folders
    seller, _, dispute = _opened(sandbox)
    old_name = default_storage.save("disputes/2026/11/x.html", ContentFile(POLYGLOT))
    row = DisputeFile.objects.create(
        dispute=dispute,
        side="seller",
        evidence_field="receipt",
        file=old_name,
        filename="x.html",
        content_type="application/pdf",
        size=len(POLYGLOT),
        uploaded_by=seller.user,
        stripe_file_id="file_kept",
    )
    missing = DisputeFile.objects.create(
        dispute=dispute,
        side="admin",
        evidence_field="uncategorized_file",
        file="disputes/2026/11/gone.pdf",
        filename="gone.pdf",
        content_type="application/pdf",
        size=3,
        uploaded_by=seller.user,
    )
    assert Client().get(f"/media/{old_name}").status_code == 200  # what the demo did before

    with django_capture_on_commit_callbacks(execute=True):
        migration.to_private(apps, None)

    row.refresh_from_db()
    assert STORED.fullmatch(row.file.name) and row.file.name.startswith(f"disputes/{dispute.pk}/")
    assert (row.filename, row.stripe_file_id) == ("x.html", "file_kept")
    assert (private / row.file.name).read_bytes() == POLYGLOT
    assert not (media / old_name).exists()
    assert Client().get(f"/media/{old_name}").status_code == 404
    _assert_download(signed_in(seller.user).get(f"/sell/disputes/{dispute.pk}/files/{row.pk}/"))
    missing.refresh_from_db()
    assert missing.file.name == "disputes/2026/11/gone.pdf"  # left as it was, and said so


def test_django_refuses_to_start_with_private_files_where_the_public_can_read_them(tmp_path: Path) -> None:
    from marketplace.storage import private_storage_check

    assert private_storage_check() == []
    with override_settings(MEDIA_ROOT=str(tmp_path), PRIVATE_MEDIA_ROOT=str(tmp_path / "private")):
        [error] = private_storage_check()
        assert error.id == "marketplace.E002" and "overlaps MEDIA_ROOT" in error.msg
    s3 = _production_storages()
    for options, words in [
        ({"default_acl": "public-read"}, "with the ACL 'public-read'"),
        ({"location": ""}, "root of the public bucket"),
    ]:
        storages = {**s3, "private": {**s3["private"], "OPTIONS": {**s3["private"]["OPTIONS"], **options}}}
        with override_settings(STORAGES=storages, AWS_STORAGE_BUCKET_NAME="marketplace-media"):
            [error] = private_storage_check()
            assert error.id == "marketplace.E002" and words in error.msg
    with override_settings(STORAGES=s3, AWS_STORAGE_BUCKET_NAME="marketplace-media"):
        assert private_storage_check() == []
