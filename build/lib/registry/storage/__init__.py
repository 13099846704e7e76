"""Storage: the database, its tables, the repositories' SQL, the bulk paths and the outbox.

The registry's services are the only writers of records (through ``registry.RecordWriter``);
other packages use the connection (``Database``), the schema (``Base``, for migrations) and the
sync outbox (``SyncStore``) from here.
"""

from .database import Database
from .models import Base
from .outbox import OutboxBatch, SyncLease, SyncStore

__all__ = ["Base", "Database", "OutboxBatch", "SyncLease", "SyncStore"]
