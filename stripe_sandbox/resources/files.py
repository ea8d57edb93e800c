"""File uploads (multipart at the files base), used as dispute evidence."""

from __future__ import annotations

import base64

from ..core import Ctx, Route
from ..errors import StripeError
from ..store import Obj, list_envelope, new_id, template

PURPOSES = (
    "account_requirement",
    "additional_verification",
    "business_icon",
    "business_logo",
    "customer_signature",
    "dispute_evidence",
    "identity_document",
    "pci_document",
    "tax_document_user_upload",
)


def file_create(ctx: Ctx) -> Obj:
    p = ctx.params(
        {"!purpose": PURPOSES, "file_link_data": {"create": "bool", "expires_at": "int", "metadata": "meta"}}
    )
    upload = (ctx.files or {}).get("file")
    if upload is None:
        raise StripeError(400, "Missing required param: file.", code="parameter_missing", param="file")
    name, content = upload
    file_id = new_id("file_")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "txt"
    obj = template(
        "file",
        id=file_id,
        created=ctx.store.now(),
        expires_at=None,
        filename=name,
        purpose=p["purpose"],
        size=len(content),
        title=None,
        type=ext,
        url=f"{ctx.core.base_url}/v1/files/{file_id}/contents",
        links=list_envelope([], f"/v1/file_links?file={file_id}"),
    )
    ctx.store.files[file_id] = base64.b64encode(content).decode()
    return ctx.store.add(obj, ctx.owner)


def file_retrieve(ctx: Ctx, file_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(file_id, "file", ctx.owner)


def file_list(ctx: Ctx) -> Obj:
    p = ctx.params({"purpose": PURPOSES}, listing=True)
    match = {"purpose": p["purpose"]} if p.get("purpose") else {}
    return ctx.store.list_page("file", ctx.owner, p, "/v1/files", **match)


ROUTES: list[Route] = [
    ("POST", r"/v1/files", file_create),
    ("GET", r"/v1/files", file_list),
    ("GET", r"/v1/files/([^/]+)", file_retrieve),
]
