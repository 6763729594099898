"""The hub's database: engine, models, migrations."""

from .engine import Database, DatabaseError
from .models import Base, Library, MediaItem

__all__ = ["Base", "Database", "DatabaseError", "Library", "MediaItem"]
