"""allauth's account forms with the cursor put back where the problem is.

A refused sign-in, sign-up or password form came back with the cursor nowhere (on the page's body):
a keyboard or screen-reader user started again from the top, hunting for the box the message meant.
These subclasses, named in `ACCOUNT_FORMS`, mark the first wrong box `autofocus`, as our own forms do
(`frontend.form_focus`); a refused sign-in (wrong email or password: an error of the whole form) puts
the cursor in its first box.
"""

from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from frontend.form_focus import focus_first_error


class _FocusFirstError(forms.Form):
    """Put the cursor in the first wrong box once the form has been checked."""

    def full_clean(self) -> None:
        super().full_clean()
        focus_first_error(self)
        if self.non_field_errors() and not any(self.has_error(name) for name in self.fields):
            first = next(iter(self.fields.values()), None)
            if first is not None:
                first.widget.attrs["autofocus"] = True


class LoginForm(_FocusFirstError, allauth_forms.LoginForm):
    pass


class SignupForm(_FocusFirstError, allauth_forms.SignupForm):
    def try_save(self, request: HttpRequest) -> Any:
        """A taken address (production: allauth answers it as a new one and emails its owner) hashes the
        password too, and throws the hash away: a new account's hashing is the slowest step of sign-up,
        and an answer that came faster said the address was taken."""
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)


class AddEmailForm(_FocusFirstError, allauth_forms.AddEmailForm):
    pass


class ChangePasswordForm(_FocusFirstError, allauth_forms.ChangePasswordForm):
    pass


class SetPasswordForm(_FocusFirstError, allauth_forms.SetPasswordForm):
    pass


class ResetPasswordForm(_FocusFirstError, allauth_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(_FocusFirstError, allauth_forms.ResetPasswordKeyForm):
    pass
