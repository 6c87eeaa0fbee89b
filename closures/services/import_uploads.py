"""Spreadsheets waiting between an import's preview and its confirmation.

An upload waits in IMPORT_PREVIEW_DIR under a random token that only the uploader's session
knows. It is deleted on confirmation, on a failed preview, on cancel, and at the latest
IMPORT_PREVIEW_MAX_AGE_SECONDS after it arrived (`delete_stale_uploads`, run by beat and by
`manage.py clean_import_uploads`): nobody's spreadsheet lies around on the server.
"""

import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SUFFIX = ".upload"


def upload_path(token: str) -> Path:
    if not TOKEN_PATTERN.match(token):
        raise ValueError("Not an upload token.")
    return Path(settings.IMPORT_PREVIEW_DIR) / f"{token}{SUFFIX}"


def store_upload(chunks: Iterable[bytes]) -> str:
    """Save an upload under a fresh random token and return the token."""
    token = secrets.token_urlsafe(24)
    directory = Path(settings.IMPORT_PREVIEW_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    with open(upload_path(token), "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return token


def waiting_upload(token: str) -> Path | None:
    """The upload's path while it may still be confirmed; None once gone or too old."""
    if not TOKEN_PATTERN.match(token):
        return None
    path = upload_path(token)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    if age > settings.IMPORT_PREVIEW_MAX_AGE_SECONDS:
        path.unlink(missing_ok=True)
        return None
    return path


def discard_upload(token: str) -> None:
    if TOKEN_PATTERN.match(token):
        upload_path(token).unlink(missing_ok=True)


def delete_stale_uploads(*, max_age_seconds: float | None = None) -> int:
    """Delete uploads older than the limit; returns how many were deleted."""
    if max_age_seconds is None:
        max_age_seconds = settings.IMPORT_PREVIEW_MAX_AGE_SECONDS
    directory = Path(settings.IMPORT_PREVIEW_DIR)
    if not directory.is_dir():
        return 0
    cutoff = time.time() - max_age_seconds
    deleted = 0
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # deleted meanwhile by a confirmation or another cleaner
            continue
    return deleted
