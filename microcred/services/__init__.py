"""Services: keyword-only functions over a session, shared by the API and the activities."""
