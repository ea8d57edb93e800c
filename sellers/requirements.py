"""Stripe's requirement codes and disabled reasons, in plain English for the seller.

Stripe names what it needs with field paths (`individual.dob.day`, `external_account`,
`person_1Ab2Cd.verification.document`, `company.tax_id`). A seller should read "Your date of
birth", once, not three codes for day, month and year. So a code is split into whose it is (the
prefix rules: `individual.`, `company.`, `representative.`, `person_<id>.`, `owners.`...) and what
it is (the field table), both turned into words, and duplicate sentences are dropped. A code we do
not know still gets a sentence ("Stripe needs more information: ..."), so a new code never shows
as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Whole codes that read best as their own sentence.
CODE_SENTENCES: dict[str, str] = {
    "external_account": "Add the bank account where you want to receive payouts.",
    "business_type": "Tell Stripe whether you sell as an individual or as a company.",
    "business_profile.mcc": "Choose the category that best describes what you sell.",
    "business_profile.url": "Add your business website or a link to your shop.",
    "business_profile.product_description": "Describe the products you sell.",
    "business_profile.name": "Add your business name.",
    "business_profile.support_phone": "Add a support phone number for your customers.",
    "business_profile.support_email": "Add a support email address for your customers.",
    "business_profile.support_url": "Add a support page address for your customers.",
    "business_profile.support_address": "Add a support address for your customers.",
    "business_profile.annual_revenue": "Tell Stripe your business's annual revenue.",
    "business_profile.estimated_worker_count": "Tell Stripe how many people work for your business.",
    "tos_acceptance.date": "Accept Stripe's services agreement.",
    "tos_acceptance.ip": "Accept Stripe's services agreement.",
    "tos_acceptance.user_agent": "Accept Stripe's services agreement.",
    "settings.payments.statement_descriptor": "Choose how your shop's name appears on customers' card statements.",
    "settings.card_payments.statement_descriptor_prefix": "Choose how your shop's name appears on card statements.",
    "email": "Add the email address of your account.",
    "default_currency": "Choose the currency of your payouts.",
}

# The account's own documents, asked for as `documents.<kind>.files` (Stripe's `documents` hash on
# the Account: what each kind is, in its API reference).
DOCUMENT_SENTENCES: dict[str, str] = {
    "bank_account_ownership_verification": "Upload a bank statement or a voided check showing your bank "
    "account's number.",
    "company_license": "Upload your business's licence to operate.",
    "company_memorandum_of_association": "Upload your company's memorandum of association.",
    "company_ministerial_decree": "Upload the ministerial decree establishing your company.",
    "company_registration_verification": "Upload a document proving your business's registration.",
    "company_tax_id_verification": "Upload a document proving your business's tax ID.",
    "proof_of_address": "Upload a proof of your business's address.",
    "proof_of_registration": "Upload your business's registration certificate.",
    "proof_of_ultimate_beneficial_ownership": "Upload a document showing who ultimately owns your business.",
}

# Fields of a person or company, after the owner prefix, as a noun phrase.
FIELD_PHRASES: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "first_name_kana": "first name in kana",
    "last_name_kana": "last name in kana",
    "first_name_kanji": "first name in kanji",
    "last_name_kanji": "last name in kanji",
    "full_name_aliases": "other names",
    "maiden_name": "maiden name",
    "name": "name",
    "name_kana": "name in kana",
    "name_kanji": "name in kanji",
    "dob": "date of birth",
    "email": "email address",
    "phone": "phone number",
    "gender": "gender",
    "address": "address",
    "address_kana": "address in kana",
    "address_kanji": "address in kanji",
    "registered_address": "registered address",
    "ssn_last_4": "last 4 digits of the Social Security number",
    "id_number": "full ID number (such as a Social Security number)",
    "id_number_secondary": "second ID number",
    "tax_id": "tax ID",
    "vat_id": "VAT number",
    "registration_number": "registration number",
    "structure": "legal structure",
    "nationality": "nationality",
    "political_exposure": "answer to the politically exposed person question",
    "relationship": "role in the business",
    "relationship.title": "job title",
    "relationship.owner": "ownership of the business",
    "relationship.percent_ownership": "share of ownership",
    "relationship.director": "directorship",
    "relationship.executive": "executive role",
    "relationship.representative": "role as representative",
    "verification.document": "identity document (a photo of a passport, ID card or driving licence)",
    "verification.additional_document": "proof of address (such as a utility bill or bank statement)",
    "verification.proof_of_liveness": "selfie check",
    "documents.passport": "passport",
    "documents.visa": "visa",
    "documents.company_authorization": "document showing the person may act for the company",
    "owners_provided": "confirmation that all owners are listed",
    "directors_provided": "confirmation that all directors are listed",
    "executives_provided": "confirmation that all executives are listed",
    "ownership_declaration": "ownership declaration",
    "ownership_declaration.date": "ownership declaration",
    "ownership_declaration.ip": "ownership declaration",
    "verification.document.front": "identity document",
}

# Whose field it is: the prefix rules.
OWNER_WORDS: dict[str, str] = {
    "individual": "your",
    "company": "your business's",
    "representative": "your company representative's",
    "owners": "each business owner's",
    "directors": "each director's",
    "executives": "each executive's",
}
_PERSON = re.compile(r"^person_[A-Za-z0-9]+$")
# A `person_<id>.` field has no possessive that reads well ("a person's (on your account) address"):
# it is said after the field instead, "the address for a person on your account".
PERSON = "a person on your account"

# Fields asked for with another verb than "Provide" (a selfie check is done, not handed over).
FIELD_VERBS: dict[str, str] = {"verification.proof_of_liveness": "Complete"}

# Why Stripe disabled an account (requirements.disabled_reason), in plain words, each saying what
# happens next. Meanings from Stripe's API reference and its "Handle verification with the API" guide
# (docs.stripe.com/connect/handling-api-verification); e.g. `requirements.past_due` is "additional
# verification information is required to enable payout or charge capabilities", which for an account
# that never took a payment means "not set up yet", not "late" (sellers.status says it that way).
DISABLED_REASON_SENTENCES: dict[str, str] = {
    "requirements.past_due": "Stripe needs the information below before it re-enables payments and payouts on "
    "your account.",
    "requirements.pending_verification": "Stripe is verifying the information you sent. There is nothing to do "
    "for now.",
    "listed": "Stripe is checking whether your account matches a list of people or companies it can't work with. "
    "Stripe will contact you if it needs anything; your Stripe Express dashboard shows where it stands.",
    "under_review": "Stripe is reviewing your account and will contact you by email if it needs anything.",
    "other": "Stripe has disabled your account for a reason it explains in your Stripe Express dashboard, with "
    "what to do next.",
    "action_required.requested_capabilities": "The marketplace still has to ask Stripe for the payment features "
    "your shop needs. This is on our side: contact support and we will fix it.",
    "platform_paused": "The marketplace has paused your account.",
    "rejected.fraud": "Stripe closed your account because it suspects fraud or illegal activity.",
    "rejected.terms_of_service": "Stripe closed your account because it suspects a breach of its services agreement.",
    "rejected.listed": "Stripe closed your account because it matches a list of people or companies Stripe can't "
    "work with.",
    "rejected.incomplete_verification": "Stripe closed your account because the verification it asked for was "
    "not completed in time.",
    "rejected.other": "Stripe closed your account.",
    "rejected.platform_fraud": "The marketplace closed your account because of suspected fraud.",
    "rejected.platform_terms_of_service": "The marketplace closed your account for a breach of its terms.",
    "rejected.platform_other": "The marketplace closed your account.",
}


def humanise(code: str) -> str:
    return re.sub(r"[._]+", " ", code).strip()


def _owner_and_field(code: str) -> tuple[str | None, str]:
    head, _, rest = code.partition(".")
    if rest and head in OWNER_WORDS:
        return OWNER_WORDS[head], rest
    if rest and _PERSON.match(head):
        return PERSON, rest
    return None, code


def _known_field(field: str) -> str | None:
    """The longest known prefix of the field path: `dob.day` -> `dob`, `address.line1` -> `address`."""
    parts = field.split(".")
    for n in range(len(parts), 0, -1):
        known = ".".join(parts[:n])
        if known in FIELD_PHRASES:
            return known
    return None


# An ID number outside the US: the Social Security number is the US's own (Stripe asks `id_number`
# of every country's individuals, for whatever national number that country uses).
ID_NUMBER_OUTSIDE_US = "full national ID number (your personal identity or tax number)"


def requirement_sentence(code: str, *, country: str = "US") -> str:
    """One English sentence for one of Stripe's requirement codes (never empty), in the words of the
    account's country where they differ (`country`: ISO code, as on the seller)."""
    if code in CODE_SENTENCES:
        return CODE_SENTENCES[code]
    owner, field = _owner_and_field(code)
    if owner is not None:
        known = _known_field(field)
        if known is not None:
            phrase = FIELD_PHRASES[known]
            if known == "id_number" and country.upper() != "US":
                phrase = ID_NUMBER_OUTSIDE_US
            verb = FIELD_VERBS.get(known, "Provide")
            return f"{verb} the {phrase} for {owner}." if owner == PERSON else f"{verb} {owner} {phrase}."
    elif code.startswith("business_profile."):
        return f"Add your business's {humanise(code.removeprefix('business_profile.'))}."
    elif code.startswith("tos_acceptance."):
        return CODE_SENTENCES["tos_acceptance.date"]
    elif code.startswith("external_account"):
        return CODE_SENTENCES["external_account"]
    elif code.startswith("documents."):
        kind = code.removeprefix("documents.").partition(".")[0]
        if kind in DOCUMENT_SENTENCES:
            return DOCUMENT_SENTENCES[kind]
    return f"Stripe needs more information: {humanise(code)}."


def requirement_sentences(codes: Iterable[str], *, country: str = "US") -> list[str]:
    """Sentences for a list of codes, in Stripe's order, each said once."""
    seen: dict[str, None] = {}
    for code in codes:
        seen.setdefault(requirement_sentence(code, country=country), None)
    return list(seen)


# `requirements.past_due` on an account that never took a payment: a new account is disabled so from the
# start (sellers.status), and Stripe has nothing to *re*-enable.
PAST_DUE_NEVER_ENABLED = "Stripe needs the information below before it enables payments and payouts on your account."


def disabled_reason_sentence(reason: str | None, *, ever_enabled: bool = True) -> str | None:
    """`ever_enabled`: as `sellers.status.ever_enabled` says of the account."""
    if not reason:
        return None
    if reason == "requirements.past_due" and not ever_enabled:
        return PAST_DUE_NEVER_ENABLED
    return DISABLED_REASON_SENTENCES.get(reason) or f"Stripe has disabled your account ({humanise(reason)})."
