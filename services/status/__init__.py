"""Status service: monthly action status reports in (JetStream inbox), each plan's progress
and Tool A figures, and what slipped out (overdue actions, slipped milestones, missing
reports) at each period close."""
