"""Statements a PostgreSQL database runs, counted from the server's own log.

The benchmark's database gets ``log_statement = 'all'`` (``ALTER DATABASE``, so only the
sessions of that database log, and no other user of a shared server is affected). Every
statement then leaves one ``LOG:  statement: ...`` line (simple protocol: BEGIN, COMMIT) or one
``LOG:  execute <name>: ...`` line (extended protocol, prepared or not), prefixed with
``user@database`` by the server's ``log_line_prefix``. Counting those lines between two byte
offsets of the log gives what the database was asked to do in that window, whatever the client.

The log is read through SQL (``pg_read_binary_file``, as the superuser that creates the
benchmark's databases), so the server's file never has to be readable by this process. Where it
is: ``MICROCRED_BENCH_POSTGRES_LOG`` if set, else the logging collector's current file, else
the Debian packaging's ``/var/log/postgresql/postgresql-<major>-main.log``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

import psycopg

# "<time> <zone> [<pid>] <user>@<database> LOG:  statement: ..." / "... LOG:  execute <name>: ..."
_LINE = re.compile(rb"^\S+ \S+ \S+ \[\d+\] \S*@(?P<db>\S+) LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$")
_VERB_TABLE = re.compile(
    r"^\s*(?:(?P<tx>BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b"
    r"|(?P<verb>INSERT INTO|UPDATE|DELETE FROM)\s+\"?(?P<table>\w+)"
    r"|SELECT\b.*?\bFROM\s+\"?(?P<from>\w+))",
    re.IGNORECASE | re.DOTALL,
)


def kind_of(sql: str) -> str:
    """``INSERT timeline_entry``, ``SELECT task_response``, ``BEGIN``: what a statement does, to what."""
    found = _VERB_TABLE.match(sql)
    if found is None:
        return sql.split(None, 1)[0].upper() if sql.strip() else "?"
    if found["tx"]:
        return found["tx"].upper()
    if found["verb"]:
        return f"{found['verb'].split()[0].upper()} {found['table']}"
    return f"SELECT {found['from']}"


@dataclass(frozen=True)
class Window:
    """The statements one database ran between two offsets of the log."""

    total: int
    by_kind: dict[str, int]


class StatementLog:
    """The server's log, read through an administrator's connection."""

    def __init__(self, admin_url: str, path: str) -> None:
        self._admin_url = admin_url
        self.path = path

    @classmethod
    def find(cls, admin_url: str) -> StatementLog | None:
        """The log the server writes statements to, or None when it cannot be found."""
        with psycopg.connect(admin_url, autocommit=True) as admin:
            candidates = [os.environ.get("MICROCRED_BENCH_POSTGRES_LOG")]
            row = admin.execute("SELECT pg_current_logfile(), current_setting('data_directory')").fetchone()
            if row and row[0]:
                candidates.append(row[0] if row[0].startswith("/") else f"{row[1]}/{row[0]}")
            major = int(str(admin.execute("SHOW server_version_num").fetchone()[0])) // 10000  # type: ignore[index]
            candidates.append(f"/var/log/postgresql/postgresql-{major}-main.log")
            for path in candidates:
                if path and admin.execute("SELECT pg_stat_file(%s, true)", (path,)).fetchone()[0]:  # type: ignore[index]
                    return cls(admin_url, path)
        return None

    @staticmethod
    def enable(admin_url: str, database: str) -> None:
        """Log every statement of ``database``'s sessions from now on (sessions opened later)."""
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE \"{database}\" SET log_statement = 'all'".encode())

    def offset(self) -> int:
        """The log's size now: where the statements of the next window begin."""
        with psycopg.connect(self._admin_url, autocommit=True) as admin:
            row = admin.execute("SELECT (pg_stat_file(%s)).size", (self.path,)).fetchone()
        return int(row[0]) if row else 0

    def window(self, database: str, start: int, end: int) -> Window:
        """Count ``database``'s statements logged between the offsets ``start`` and ``end``."""
        with psycopg.connect(self._admin_url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT pg_read_binary_file(%s, %s, %s)", (self.path, start, max(0, end - start))
            ).fetchone()
        data = bytes(row[0]) if row else b""
        kinds: Counter[str] = Counter()
        name = database.encode()
        current: list[bytes] | None = None
        for line in [*data.split(b"\n"), b""]:
            if current is not None and line.startswith(b"\t"):
                current.append(line)  # a statement's later lines
                continue
            if current is not None:
                kinds[kind_of(b"\n".join(current).decode(errors="replace"))] += 1
                current = None
            found = _LINE.match(line)
            if found is not None and found["db"] == name:
                current = [found["sql"]]
        return Window(total=sum(kinds.values()), by_kind=dict(kinds.most_common()))
