"""What ``bench.statements`` makes of the lines PostgreSQL logs for each statement."""

from __future__ import annotations

import pytest

from bench.statements import kind_of


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("BEGIN", "BEGIN"),
        ("BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("INSERT INTO notification (id, key) VALUES ($1::VARCHAR, $2::VARCHAR)", "INSERT notification"),
        ("UPDATE enrolment SET row_version=(enrolment.row_version + $1::INTEGER)", "UPDATE enrolment"),
        ("DELETE FROM task_response WHERE task_response.version <= $1", "DELETE task_response"),
        ("SELECT enrolment.id, enrolment.status \n\tFROM enrolment \n\tWHERE id = $1", "SELECT enrolment"),
        ("WITH applied AS (UPDATE enrolment SET seq = 1 RETURNING enrolment.id) SELECT applied.id", "WITH"),
        (";", ";"),
    ],
)
def test_a_statement_is_named_by_what_it_does_to_which_table(sql: str, kind: str) -> None:
    assert kind_of(sql) == kind
