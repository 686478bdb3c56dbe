"""City → district task dispatch: tasks, sub-tasks, feedback, roll-up, overdue 督办 and the callback outbox."""
