"""流调 (field investigation), 7-1-7 timeliness and the closed-loop review of warning events (issue 20)."""
