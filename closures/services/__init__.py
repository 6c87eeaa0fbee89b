"""Multi-step writes: importing spreadsheets, the review workflow and derived fields.

The admin, the management commands and the Celery tasks all call these functions, so the same
validation guards every way data enters or changes in the registry. Each concern has its own
module; this package re-exports what callers use, so `from closures.services import publish`
does not depend on where a function lives.
"""

from .deletion import delete_records, deletion_refusal
from .derived import refresh_organisation, refresh_organisations_citing
from .import_merge import ImportConflict, MergeRules
from .import_parser import unknown_columns
from .import_writer import ImportReport
from .importing import ImportPreview, import_registry, import_spreadsheet, preview_import
from .pending import (
    approve_change,
    edits_published_directly,
    is_published,
    live_values,
    needs_review,
    open_change_for,
    propose_change,
    reject_change,
)
from .public_version import bump_public_data_version, is_public, shows_publicly
from .revert import revert_to_version
from .spreadsheet import ImportFailed, ImportProblem, read_spreadsheet
from .workflow import (
    WORKFLOW_FIELDS,
    WorkflowRefused,
    is_reviewer,
    lift_embargo,
    move_event,
    publish,
    return_to_draft,
    set_embargo,
    submit_for_review,
    withdraw,
)

__all__ = [
    "WORKFLOW_FIELDS",
    "ImportConflict",
    "ImportFailed",
    "ImportPreview",
    "ImportProblem",
    "ImportReport",
    "MergeRules",
    "WorkflowRefused",
    "approve_change",
    "edits_published_directly",
    "is_published",
    "live_values",
    "needs_review",
    "open_change_for",
    "propose_change",
    "reject_change",
    "bump_public_data_version",
    "delete_records",
    "deletion_refusal",
    "is_public",
    "shows_publicly",
    "import_registry",
    "import_spreadsheet",
    "is_reviewer",
    "lift_embargo",
    "move_event",
    "preview_import",
    "publish",
    "read_spreadsheet",
    "refresh_organisation",
    "refresh_organisations_citing",
    "return_to_draft",
    "revert_to_version",
    "set_embargo",
    "submit_for_review",
    "unknown_columns",
    "withdraw",
]
