"""The report: its schema (report.json) and the views that render it (terminal, Markdown, HTML)."""
