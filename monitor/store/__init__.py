"""Storage: the SQLAlchemy schema, the Alembic migrations, and one repository module per aggregate
(mentions, sources, state, subscribers, notices, incidents, leases, embeddings) behind the
`Store`/`Tx` facades of monitor/store/repository.py.

SQLite (WAL) by default; PostgreSQL works by URL. Scheduling state lives here per source.
"""

from monitor.store.engine import StoreError, StoreFull
from monitor.store.mentions import Candidate
from monitor.store.repository import Store, Tx
from monitor.store.sources import SourceRow

__all__ = ["Candidate", "SourceRow", "Store", "StoreError", "StoreFull", "Tx"]
