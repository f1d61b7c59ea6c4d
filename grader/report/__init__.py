"""HTML reports: one per student, a class dashboard and a similarity page, rendered from
results only."""

from grader.report.render import dashboard, similarity, student

__all__ = ["dashboard", "similarity", "student"]
