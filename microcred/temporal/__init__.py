"""Everything that talks to Temporal from outside a workflow: the client (connecting, and the
typed messages to enrolment workflows), the names both sides share, and the server's setup."""
