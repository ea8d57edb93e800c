"""An offline, stateful Stripe Connect emulator spoken to through the official ``stripe`` SDK.

Pure standard library, no Django: the app under test cannot tell it from api.stripe.com except by the URL.
"""

from .sandbox import Sandbox

__all__ = ["Sandbox"]
