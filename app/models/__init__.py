"""SQLAlchemy models by domain."""
from .audit import AuditCheckpoint, AuditEvent, AuditHead  # noqa: F401
from .case import Case, CaseParticipant, Task, queue_of, queues_of  # noqa: F401
from .conversation import Comment, Urge, UrgeTarget  # noqa: F401
from .evidence import Attachment, Blob, BlobChunk  # noqa: F401
from .duties import AccountabilityReview, ListItem, ListVersion  # noqa: F401
from .notification import Notification, NotificationPreference, OutboxMessage, UnitRobot  # noqa: F401
from .org import OrgUnit, User  # noqa: F401
from .process import ProcessVersion  # noqa: F401
from .session import LoginSession  # noqa: F401
from .supervision import CalendarDay, ExtensionRequest, Flag, Setting  # noqa: F401
from .search import SearchDocument  # noqa: F401
from .integration import CaseWait, ExternalTask  # noqa: F401
