"""What a person typed into a form, kept across the redirect that shows the form's error.

The refund, approval and dispute statement forms post, and on an error redirect back to their page with a message:
the page was drawn anew and empty, so what was typed was lost, and a checkbox that starts ticked
came back ticked ("take it back from the seller": resubmitted as it looked, the seller paid a refund
the admin had meant the platform to pay). `keep` puts the form's fields in the session; the page's
view `take`s them once, for its template to fill the form with. The console's refund page draws
itself at once instead (a 422, as the site's other refused forms) and takes them in the same request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.http import HttpRequest

SESSION_KEY = "kept_input"
MAX_LENGTH = 1000  # a value longer than any of these forms' fields is not kept whole
MAX_AGE_S = 300  # the redirect is immediate: input kept longer ago belongs to a form given up on


def keep(
    request: HttpRequest,
    form: str,
    names: Iterable[str],
    *,
    prefixes: Iterable[str] = (),
    max_length: int = MAX_LENGTH,
    extra: dict[str, str] | None = None,
) -> None:
    """Keep the posted `names` (an unticked checkbox as "") and every field starting with one of
    `prefixes`, for the next `take(request, form)`. `form` names the form on its page, e.g.
    "console:approve:12" for the approval form of request 12. A form with a longer text area than
    MAX_LENGTH (a dispute statement) says how much of a value to keep. `extra`: values the view adds
    for the form drawn again (a refund refused until a box is ticked: show the box)."""
    wanted = list(names)
    wanted += [name for name in request.POST if any(name.startswith(p) for p in prefixes)]
    request.session[SESSION_KEY] = {
        "form": form,
        "at": time.time(),
        "values": {**{name: request.POST.get(name, "")[:max_length] for name in wanted}, **(extra or {})},
    }


def take(request: HttpRequest, form: str) -> dict[str, str] | None:
    """The fields `keep` kept for `form`, once, with the form's name under "form"; a `form` ending in
    ":" takes any of its kind (the console's page of refund forms asks for "console:" and
    fills the one named). None when there are none: the form starts as drawn."""
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return None
    name = str(kept.get("form", ""))
    if not (name == form or (form.endswith(":") and name.startswith(form))):
        return None
    del request.session[SESSION_KEY]
    values = kept.get("values")
    if time.time() - float(kept.get("at") or 0) > MAX_AGE_S or not isinstance(values, dict):
        return None
    return {"form": name, **values}
