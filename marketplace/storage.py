"""Private file storage: files no public URL reaches, read only through a view that checks who asks.

The default storage holds public files (listing images): `MEDIA_ROOT`, which the demo serves at
`MEDIA_URL`, or the S3 bucket production shows them from. Dispute evidence must not be there:
receipts, shipping labels and messages carry buyers' names and addresses, and whatever an uploader
sends would be served from our own origin. So such files go to the `STORAGES` alias "private"
(`config/settings/base.py`): on one machine a folder outside `MEDIA_ROOT` (`PRIVATE_MEDIA_ROOT`),
in production an S3 location written without a public ACL. A private file has no URL at all on
the machine (`url()` refuses), so no template can link to it by mistake, and Django refuses to start
(check `marketplace.E002`) when a setting would put these files where the public can read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, cached_property, empty

PRIVATE_STORAGE_ALIAS = "private"
PRIVATE_STORAGE_EXPOSED = "marketplace.E002"
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})


class PrivateFileSystemStorage(FileSystemStorage):
    """A folder outside `MEDIA_ROOT` (`PRIVATE_MEDIA_ROOT` unless a `location` is given), read with
    the setting's value at the time, as Django's own storage reads `MEDIA_ROOT` (tests move it)."""

    def __init__(self, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(location=location, **kwargs)
        self._private_location = location

    @cached_property
    def base_location(self) -> Any:
        return settings.PRIVATE_MEDIA_ROOT if self._private_location is None else self._private_location

    def _clear_cached_properties(self, setting: Any, **kwargs: Any) -> None:
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name: str | None) -> str:
        raise ValueError("A private file has no URL: serve it through a view that checks who asks.")


class _PrivateStorage(LazyObject):
    """`storages["private"]`, looked up when first used and again after `STORAGES` changes (tests)."""

    def _setup(self) -> None:
        self._wrapped = storages[PRIVATE_STORAGE_ALIAS]


private_storage: Storage = _PrivateStorage()  # type: ignore[assignment]


def private_storage_get() -> Storage:
    """The storage of private FileFields (a callable, so migrations name this function, not a path)."""
    return private_storage


@receiver(setting_changed)
def _private_storage_reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        private_storage._wrapped = empty  # type: ignore[attr-defined]


def private_storage_check(*args: Any, **kwargs: Any) -> list[CheckMessage]:
    """Start-up check: a setting must not put private files where the public media URL serves them
    (a folder inside MEDIA_ROOT, a public ACL, the public bucket's root), so Django refuses to start."""
    config = settings.STORAGES.get(PRIVATE_STORAGE_ALIAS)
    if config is None:
        return [_exposed('STORAGES has no "private" alias: dispute evidence has nowhere private to go.')]
    options = config.get("OPTIONS", {})
    if config["BACKEND"].endswith("FileSystemStorage"):
        location = Path(options.get("location") or settings.PRIVATE_MEDIA_ROOT).resolve()
        media = Path(settings.MEDIA_ROOT).resolve()
        if location == media or media in location.parents or location in media.parents:
            return [
                _exposed(f"The private storage's folder {location} overlaps MEDIA_ROOT ({media}), served at MEDIA_URL.")
            ]
    if config["BACKEND"].endswith("S3Storage"):
        if options.get("default_acl") in PUBLIC_ACLS:
            return [_exposed(f"The private storage writes files with the ACL {options['default_acl']!r}.")]
        public = settings.STORAGES["default"]
        shared = public["BACKEND"].endswith("S3Storage") and options.get("bucket_name") in (
            public.get("OPTIONS", {}).get("bucket_name"),
            settings.AWS_STORAGE_BUCKET_NAME,
        )
        if shared and not str(options.get("location") or "").strip("/"):
            return [_exposed("The private storage is the root of the public bucket: give it a prefix or a bucket.")]
    return []


def _exposed(message: str) -> Error:
    return Error(
        message,
        hint="Set PRIVATE_MEDIA_ROOT outside MEDIA_ROOT, or AWS_PRIVATE_LOCATION / AWS_PRIVATE_STORAGE_BUCKET_NAME.",
        id=PRIVATE_STORAGE_EXPOSED,
    )
