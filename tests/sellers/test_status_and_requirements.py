"""Status in plain words and Stripe's codes as sentences (pure: no Stripe needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sellers.models import SellerStatus
from sellers.requirements import (
    DISABLED_REASON_SENTENCES,
    disabled_reason_sentence,
    requirement_sentence,
    requirement_sentences,
)
from sellers.status import StripeState, derive_status
from stripe_sandbox.resources.accounts import INITIAL_REQUIREMENTS, LEFT_DUE

# Stripe's documented values of requirements.disabled_reason (API reference, Account object, and
# the enum since 2024-11-20.acacia).
STRIPE_DISABLED_REASONS = [
    "action_required.requested_capabilities",
    "listed",
    "other",
    "platform_paused",
    "rejected.fraud",
    "rejected.incomplete_verification",
    "rejected.listed",
    "rejected.other",
    "rejected.platform_fraud",
    "rejected.platform_other",
    "rejected.platform_terms_of_service",
    "rejected.terms_of_service",
    "requirements.past_due",
    "requirements.pending_verification",
    "under_review",
]
DEADLINE = datetime(2030, 1, 15, tzinfo=UTC)


def state(**kw: Any) -> StripeState:
    base: dict[str, Any] = {
        "stripe_account_id": "acct_1",
        "details_submitted": True,
        "charges_enabled": True,
        "payouts_enabled": True,
        "requirements": {"currently_due": [], "past_due": []},
        "current_deadline": None,
        "disabled_reason": "",
        "paused_at": None,
        "disconnected_at": None,
    }
    return StripeState(**{**base, **kw})


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, SellerStatus.ACTIVE),
        ({"stripe_account_id": None, "details_submitted": False, "charges_enabled": False}, SellerStatus.ONBOARDING),
        (
            {"details_submitted": False, "charges_enabled": False, "disabled_reason": "requirements.past_due"},
            SellerStatus.ONBOARDING,
        ),
        ({"charges_enabled": False, "payouts_enabled": False}, SellerStatus.PENDING_VERIFICATION),
        (
            {"charges_enabled": False, "disabled_reason": "requirements.pending_verification"},
            SellerStatus.PENDING_VERIFICATION,
        ),
        (
            {"requirements": {"currently_due": ["individual.id_number"]}, "current_deadline": DEADLINE},
            SellerStatus.ACTION_REQUIRED,
        ),
        (
            {
                "charges_enabled": False,
                "requirements": {"currently_due": ["external_account"], "past_due": ["external_account"]},
                "disabled_reason": "requirements.past_due",
                "charges_first_enabled_at": DEADLINE,
            },
            SellerStatus.RESTRICTED,
        ),
        (  # details submitted, some left for later, never enabled: still onboarding, not "restricted"
            {
                "charges_enabled": False,
                "payouts_enabled": False,
                "requirements": {"currently_due": LEFT_DUE, "past_due": LEFT_DUE},
                "disabled_reason": "requirements.past_due",
            },
            SellerStatus.ONBOARDING,
        ),
        (  # never enabled, but Stripe is verifying: pending, not onboarding
            {"charges_enabled": False, "disabled_reason": "requirements.pending_verification"},
            SellerStatus.PENDING_VERIFICATION,
        ),
        (  # never enabled, and Stripe's review found a listed match: restricted, not onboarding
            {"charges_enabled": False, "requirements": {"past_due": ["company.tax_id"]}, "disabled_reason": "listed"},
            SellerStatus.RESTRICTED,
        ),
        ({"charges_enabled": False, "disabled_reason": "rejected.fraud"}, SellerStatus.REJECTED),
        ({"paused_at": DEADLINE}, SellerStatus.PAUSED),
        ({"disabled_reason": "platform_paused", "charges_enabled": False}, SellerStatus.PAUSED),
        ({"paused_at": DEADLINE, "disconnected_at": DEADLINE}, SellerStatus.DISCONNECTED),
        ({"disabled_reason": "rejected.other", "paused_at": DEADLINE}, SellerStatus.PAUSED),
    ],
)
def test_status_in_plain_words(kw: dict[str, Any], expected: SellerStatus) -> None:
    assert derive_status(state(**kw)) == expected


def test_every_requirement_code_the_sandbox_produces_has_a_real_sentence() -> None:
    for code in [*INITIAL_REQUIREMENTS, *LEFT_DUE]:
        sentence = requirement_sentence(code)
        assert not sentence.startswith("Stripe needs more information"), code
        assert sentence.endswith(".") and sentence[0].isupper(), sentence


def test_every_disabled_reason_stripe_documents_has_its_own_sentence() -> None:
    assert set(STRIPE_DISABLED_REASONS) <= set(DISABLED_REASON_SENTENCES)
    for reason in STRIPE_DISABLED_REASONS:
        assert disabled_reason_sentence(reason) == DISABLED_REASON_SENTENCES[reason]
    assert disabled_reason_sentence("brand_new.reason") == "Stripe has disabled your account (brand new reason)."
    assert disabled_reason_sentence("") is None


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("individual.dob.day", "Provide your date of birth."),
        (
            "individual.verification.document",
            "Provide your identity document (a photo of a passport, ID card or driving licence).",
        ),
        ("company.tax_id", "Provide your business's tax ID."),
        ("representative.address.line1", "Provide your company representative's address."),
        (
            "person_1Abc2Def.verification.additional_document",
            "Provide the proof of address (such as a utility bill or bank statement) for a person on your account.",
        ),
        (
            "person_1Abc2Def.verification.document",
            "Provide the identity document (a photo of a passport, ID card or driving licence) for a person on "
            "your account.",
        ),
        ("person_1Abc2Def.dob.year", "Provide the date of birth for a person on your account."),
        ("individual.verification.proof_of_liveness", "Complete your selfie check."),
        ("representative.verification.proof_of_liveness", "Complete your company representative's selfie check."),
        ("person_1Abc2Def.verification.proof_of_liveness", "Complete the selfie check for a person on your account."),
        ("external_account", "Add the bank account where you want to receive payouts."),
        ("business_profile.mcc", "Choose the category that best describes what you sell."),
        (
            "documents.bank_account_ownership_verification.files",
            "Upload a bank statement or a voided check showing your bank account's number.",
        ),
        ("documents.company_tax_id_verification.files", "Upload a document proving your business's tax ID."),
        ("something.entirely_new", "Stripe needs more information: something entirely new."),
        ("individual.some_future_field", "Stripe needs more information: individual some future field."),
    ],
)
def test_requirement_sentences(code: str, sentence: str) -> None:
    assert requirement_sentence(code) == sentence


def test_every_account_document_stripe_asks_for_is_named_in_words() -> None:
    """Stripe asks for the account's documents as `documents.<kind>.files`; they read "Stripe needs more
    information: documents bank account ownership verification files", the code with its dots gone."""
    kinds = [
        "bank_account_ownership_verification",
        "company_license",
        "company_memorandum_of_association",
        "company_ministerial_decree",
        "company_registration_verification",
        "company_tax_id_verification",
        "proof_of_address",
        "proof_of_registration",
        "proof_of_ultimate_beneficial_ownership",
    ]
    for kind in kinds:
        sentence = requirement_sentence(f"documents.{kind}.files")
        assert sentence.startswith("Upload ") and sentence.endswith("."), sentence
    assert len({requirement_sentence(f"documents.{kind}.files") for kind in kinds}) == len(kinds)


def test_day_month_and_year_read_as_one_sentence() -> None:
    codes = [
        "individual.dob.day",
        "individual.dob.month",
        "individual.dob.year",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]
    assert requirement_sentences(codes) == ["Provide your date of birth.", "Accept Stripe's services agreement."]


@pytest.mark.parametrize(
    ("country", "sentence"),
    [
        ("US", "Provide your full ID number (such as a Social Security number)."),
        ("IE", "Provide your full national ID number (your personal identity or tax number)."),
        ("JP", "Provide your full national ID number (your personal identity or tax number)."),
    ],
)
@pytest.mark.django_db
def test_an_id_number_is_asked_in_the_words_of_the_sellers_country(country: str, sentence: str) -> None:
    """A seller in Ireland or Japan was asked for "a Social Security number", which only the US has."""
    from sellers.selectors import seller_overview
    from tests.catalog.factories import SellerFactory

    seller = SellerFactory(country=country, requirements={"currently_due": ["individual.id_number"]})
    assert seller_overview(seller=seller).due_sentences == [sentence]
