"""Write a new Alembic revision by comparing the models with a scratch SQLite database that has
every existing migration applied. Usage: python scripts/make_migration.py "message"."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from omnimedia.core.db.migrate import alembic_config, upgrade


async def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_async_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
        await upgrade(engine)

        def _revision(connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True)

        async with engine.begin() as conn:
            await conn.run_sync(_revision)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "change"))
