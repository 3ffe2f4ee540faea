"""The published language: one pydantic model per event type and version.

Every publisher builds its events from these models and every consumer reads them back
through the same models, so a field renamed on one side fails a test, not a consumer in
production. Fields are required unless the contract says they may be absent; a consumer
ignores fields it does not know (a newer publisher may add some).
"""

from libs.common.contracts.base import EventData, partition_key
from libs.common.contracts.cases import (
    CaseApproval,
    CaseClosure,
    CaseData,
    CaseEvent,
    CaseForm,
    CasePlan,
    CaseProgress,
    GovernmentReport,
)
from libs.common.contracts.figures import FIGURE_NAMES, ReportFigures
from libs.common.contracts.incidents import (
    BodyRef,
    EnterpriseRef,
    IncidentData,
    IncidentPlacement,
    IncidentUpdated,
    IncidentWarning,
    WarningData,
)
from libs.common.contracts.monitoring import AlertData, AlertReport, MonitoringAlert
from libs.common.contracts.notifications import (
    Acknowledgement,
    NotificationData,
    NotificationEvent,
)
from libs.common.contracts.reports import ReportData, ReportReceived, ReportRevealed
from libs.common.contracts.reviews import ReviewHeld

__all__ = [
    "FIGURE_NAMES",
    "Acknowledgement",
    "AlertData",
    "AlertReport",
    "BodyRef",
    "CaseApproval",
    "CaseClosure",
    "CaseData",
    "CaseEvent",
    "CaseForm",
    "CasePlan",
    "CaseProgress",
    "EnterpriseRef",
    "EventData",
    "GovernmentReport",
    "IncidentData",
    "IncidentPlacement",
    "IncidentUpdated",
    "IncidentWarning",
    "MonitoringAlert",
    "NotificationData",
    "NotificationEvent",
    "ReportData",
    "ReportFigures",
    "ReportReceived",
    "ReportRevealed",
    "ReviewHeld",
    "WarningData",
    "partition_key",
]
