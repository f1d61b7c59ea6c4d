"""HTML reports: one per student and a class dashboard, rendered from results only."""

from grader.report.render import dashboard, student

__all__ = ["dashboard", "student"]
