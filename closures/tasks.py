"""Celery tasks: each takes primary keys, calls one service and is safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def refresh_organisation(organisation_id: int) -> str:
    """Recompute an organisation's derived status after its events changed."""
    return services.refresh_organisation(organisation_id=organisation_id).current_status
