import os
import sys
from pathlib import Path

# The application lives beside the tests; make it importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# triage/status_page.py builds openai.OpenAI() at import, as most applications do, and the SDK wants a key
# there even when every call is replayed. The plugin answers the client's calls in tests and never sends
# this placeholder; a live run (--llm-record against a real model) takes the real key from the environment.
os.environ.setdefault("OPENAI_API_KEY", "placeholder-8c1f3b")
