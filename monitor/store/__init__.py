"""Storage: the SQLAlchemy schema, the Alembic migrations and the repository the program uses.

SQLite (WAL) by default; PostgreSQL works by URL. Scheduling state lives here per source.
"""

from monitor.store.engine import StoreError, StoreFull
from monitor.store.repository import SourceRow, Store, Tx

__all__ = ["SourceRow", "Store", "StoreError", "StoreFull", "Tx"]
