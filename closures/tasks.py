"""Celery tasks: each takes primary keys, calls one service and is safe to run twice."""

from celery import shared_task

from . import releases, services, sources
from .models import Source

RETRY_POLICY = {
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(acks_late=True)
def refresh_organisation(organisation_id: int) -> str:
    """Recompute an organisation's derived status after its events changed."""
    return services.refresh_organisation(organisation_id=organisation_id).current_status


def cited_publicly(source_id: int) -> bool:
    """Automatic upkeep contacts only hosts of sources the public already sees cited.

    Checking or archiving a source cited only by hidden events would tell its host, and the
    archive, what the registry is watching; a curator may still ask for it explicitly.
    """
    return Source.objects.public().filter(pk=source_id).exists()


@shared_task(bind=True, acks_late=True, autoretry_for=(sources.HostBusy,), **RETRY_POLICY)
def check_source(self, source_id: int, explicit: bool = False) -> int | None:
    """Check one source URL; returns its failures in a row (None when skipped or gone)."""
    if not explicit and not cited_publicly(source_id):
        return None
    source = sources.check_source(source_id=source_id, wait_for_host=self.request.is_eager)
    return source.consecutive_failures if source else None


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(sources.HostBusy, sources.ArchiveUnavailable),
    **RETRY_POLICY,
)
def archive_source(self, source_id: int, explicit: bool = False) -> str | None:
    """Ask the web archive for a snapshot of a source that lacks one."""
    if not explicit and not cited_publicly(source_id):
        return None
    source = sources.archive_source(source_id=source_id, wait_for_host=self.request.is_eager)
    return source.archived_url if source else None


@shared_task
def check_all_sources() -> int:
    """Beat entry point: fan out one check per publicly cited source."""
    source_ids = list(Source.objects.public().values_list("pk", flat=True))
    for source_id in source_ids:
        check_source.delay(source_id)
    return len(source_ids)


@shared_task
def archive_missing_sources() -> int:
    """Beat entry point: archive publicly cited sources without a snapshot, when configured."""
    if not sources.archive_configured():
        return 0
    source_ids = list(Source.objects.public().unarchived().values_list("pk", flat=True))
    for source_id in source_ids:
        archive_source.delay(source_id)
    return len(source_ids)


@shared_task(acks_late=True)
def build_weekly_release() -> str | None:
    """Beat entry point: a new release when the public registry changed since the last one."""
    release = releases.build_release(only_if_changed=True)
    return release.version if release else None
