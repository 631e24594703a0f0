"""microcred: paid micro-credentials, one durable Temporal workflow per enrolment."""
