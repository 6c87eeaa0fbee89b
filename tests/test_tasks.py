import datetime as dt

from closures import tasks
from closures.models import EventType, Status


def test_refresh_task_recomputes_the_derived_status(make_public_organisation, make_event):
    organisation = make_public_organisation(event={"effective_on": dt.date(2021, 6, 1)})
    make_event(organisation, event_type=EventType.LIQUIDATED, effective_on=dt.date(2022, 3, 1))
    result = tasks.refresh_organisation.delay(organisation.pk)
    organisation.refresh_from_db()
    assert result.get() == Status.LIQUIDATED
    assert organisation.current_status == organisation.public_status == Status.LIQUIDATED
    assert organisation.public_latest_event_on == dt.date(2022, 3, 1)


def test_refresh_task_is_safe_to_run_twice(make_public_organisation):
    organisation = make_public_organisation()
    history_before = organisation.history.count()
    tasks.refresh_organisation.delay(organisation.pk)
    tasks.refresh_organisation.delay(organisation.pk)
    organisation.refresh_from_db()
    assert organisation.current_status == Status.DISBANDED
    assert organisation.history.count() == history_before
