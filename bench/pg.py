"""A fresh, migrated PostgreSQL database for a benchmark; prints its URL.

    python -m bench.pg NAME        # drops NAME if it exists, creates and migrates it

The server is LABORWATCH_STACK_PG's (default postgresql://postgres@127.0.0.1:5432), as for
`make stack` and `make bench`.
"""

from __future__ import annotations

import asyncio
import os
import sys

from laborwatch.migrate import upgrade
from scripts.stack import ensure_database

SERVER = os.environ.get("LABORWATCH_STACK_PG", "postgresql://postgres@127.0.0.1:5432")


def main() -> None:
    """Make the database and print the URL laborwatch takes."""
    name = sys.argv[1]
    asyncio.run(ensure_database(SERVER, name, fresh=True))
    url = SERVER.replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    upgrade(url)
    print(url)


if __name__ == "__main__":
    main()
