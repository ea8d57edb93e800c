"""A seller's proof file sent twice (the same form sent again: a person unsure the first upload
worked, a back-and-resubmit, a retry) is kept once. Two copies were kept before: each counted towards
the ten files a side may upload, and both went to the bank as the same kind of proof, so the
platform's next save of the evidence was refused ("Two files are set as ...") until an admin moved
one away. Chromium at 375 px with axe-core, the live server and the sandbox (a disputed payment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.disputes import dispute_evidence_save
from payments.models import DisputeFile
from tests.e2e.browser import log_in, on_a_phone
from tests.payments.test_dispute_evidence import PDF, PNG, _opened

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_same_proof_sent_twice_is_kept_once_and_the_evidence_still_saves(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, tmp_path: Path
) -> None:
    seller, _, dispute = _opened(sandbox, "jpy")
    label, photo = tmp_path / "label.pdf", tmp_path / "label-again.pdf"
    label.write_bytes(PDF)
    photo.write_bytes(PDF)  # the same bytes under another name: still the same proof

    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/disputes/{dispute.pk}/")
    files = page.get_by_test_id("seller-files").get_by_role("listitem")
    for sent in (label, label, photo):
        page.get_by_label("Receipts, shipping labels, photos, messages").set_input_files(sent)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(".messages")).to_contain_text("label.pdf")
        expect(files).to_have_count(1)
    expect(page.locator(".messages")).to_contain_text("This file is uploaded already, as label.pdf")
    expect(files).to_contain_text("label.pdf")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert DisputeFile.objects.filter(dispute=dispute).count() == 1

    # Another file is another proof.
    other = tmp_path / "mug.png"
    other.write_bytes(PNG)
    page.get_by_label("Receipts, shipping labels, photos, messages").set_input_files(other)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages")).to_contain_text("mug.png uploaded.")
    expect(files).to_have_count(2)

    # Nothing blocks the platform's evidence for the file sent twice: it goes to the bank once.
    DisputeFile.objects.filter(dispute=dispute, filename="mug.png").update(evidence_field="customer_communication")
    dispute_evidence_save(dispute=dispute, evidence={"uncategorized_text": "Shipped, see the label"}, submit=False)
    assert all(f.stripe_file_id.startswith("file_") for f in DisputeFile.objects.filter(dispute=dispute))
