"""The console's dispute page lists each proof file with its own "Kind of proof" box and button: a
screen-reader user moving through the form controls hears which file each one is for ("Change the
kind of label.pdf"), not the same "Kind of proof" and "Change" once per file. Chromium, the live
server and the sandbox (a disputed payment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.conftest import signed_in
from tests.payments.test_dispute_evidence import PDF, PNG, _opened

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_each_proof_file_has_its_own_named_kind_box_and_button(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    seller, _, dispute = _opened(sandbox, "jpy")
    client = signed_in(seller.user)
    for name, content, kind in (("label.pdf", PDF, "application/pdf"), ("mug.png", PNG, "image/png")):
        upload = SimpleUploadedFile(name, content, content_type=kind)
        assert client.post(f"/api/v1/seller/disputes/{dispute.pk}/files", {"file": upload}).status_code == 201

    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/disputes/{dispute.pk}/")
    for name in ("label.pdf", "mug.png"):
        expect(page.get_by_role("combobox", name=f"Kind of proof of {name}", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=f"Change the kind of {name}", exact=True)).to_be_visible()

    page.get_by_role("combobox", name="Kind of proof of mug.png").select_option(label="Not sent to the bank")
    page.get_by_role("button", name="Change the kind of mug.png").press("Enter")
    expect(page.locator(".messages")).to_contain_text("mug.png")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
