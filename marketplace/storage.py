"""Private file storage: files no public URL reaches, read only through a view that checks who asks.

The default storage holds public files (listing images): `MEDIA_ROOT`, which the demo serves at
`MEDIA_URL`, or the S3 bucket production shows them from. Dispute evidence must not be there:
receipts, shipping labels and messages carry buyers' names and addresses, and whatever an uploader
sends would be served from our own origin. So such files go to the `STORAGES` alias "private"
(`config/settings/base.py`): on one machine a folder outside `MEDIA_ROOT` (`PRIVATE_MEDIA_ROOT`),
in production an S3 location written without a public ACL. A private file has no URL at all on
the machine (`url()` refuses), so no template can link to it by mistake.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, cached_property, empty

PRIVATE_STORAGE_ALIAS = "private"


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
