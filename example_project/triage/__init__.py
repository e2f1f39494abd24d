"""Acme support desk: LLM ticket triage and reply drafting."""

from triage.app import Triage, draft_reply, route, triage_ticket

__all__ = ["Triage", "draft_reply", "route", "triage_ticket"]
