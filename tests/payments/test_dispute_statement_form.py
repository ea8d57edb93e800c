"""The seller's statement form takes what its text area lets the browser send: the browser counts a
line break as one character for `maxlength` but submits it as CRLF (two)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from payments.disputes import EVIDENCE_TEXT_MAX
from payments.models import Dispute
from tests.orders.conftest import signed_in
from tests.payments.helpers import process
from tests.payments.test_disputes import disputed_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_statement_as_long_as_the_text_area_allows_with_line_breaks_is_saved(sandbox: Any, currency: str) -> None:
    seller, _, events = disputed_order(sandbox, currency)
    assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    client = signed_in(seller.user)
    page = client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    maxlength = int(re.search(r'<textarea id="statement"[^>]* maxlength="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert maxlength == EVIDENCE_TEXT_MAX
    paragraph = "Delivered on the 3rd, signed by the buyer." + "." * 57  # 99 characters and a line break
    typed = (paragraph + "\n") * (maxlength // 100)  # exactly `maxlength` characters as the browser counts them
    assert len(typed) == maxlength
    sent = typed.replace("\n", "\r\n")  # as the browser submits it (and a lone CR, as old Macs did)
    response = client.post(f"/sell/disputes/{dispute.pk}/statement/", {"statement": sent}, follow=True)
    assert "Saved." in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.seller_statement == typed.strip()
    one_cr = client.post(f"/sell/disputes/{dispute.pk}/statement/", {"statement": "Signed.\rDelivered."}, follow=True)
    assert "Saved." in one_cr.content.decode()
    dispute.refresh_from_db()
    assert dispute.seller_statement == "Signed.\nDelivered."
