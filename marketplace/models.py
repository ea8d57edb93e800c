"""Platform-wide models. The user signs in by email: there is no username."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class EmailUserManager(UserManager["User"]):
    """Creates users keyed by email; Django's manager insists on a username otherwise."""

    def _create_user_by_email(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user_by_email(email, password, **extra)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user_by_email(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[EmailUserManager] = EmailUserManager()

    def __str__(self) -> str:
        return self.email


class Session(AbstractBaseSession):
    """Django's database session, plus the id of the signed-in user (None when nobody is), kept in
    step with the session's data on every save (`marketplace.sessions.SessionStore`).

    Why the column: every signed-in request read its session, then its user, in two statements one
    after the other (the user's id is inside the session's signed data). With the id beside the data,
    one statement reads the session with its user joined (see `marketplace.sessions`). The id is only
    a hint: the user is used only when it matches the id in the verified session data.
    """

    user_id = models.BigIntegerField(null=True, blank=True)

    class Meta(AbstractBaseSession.Meta):  # type: ignore[name-defined,misc]
        db_table = "marketplace_session"

    @classmethod
    def get_session_store_class(cls) -> Any:
        from marketplace.sessions import SessionStore

        return SessionStore
