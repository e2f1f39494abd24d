"""The second half of the migration, offline: roll triage-2024-11 out to customers and watch the arms.

Run it with ``python rollout_demo.py`` from this folder (``../.venv/bin/python``). It works on a copy of
the project in a temporary folder, so the committed pyproject.toml and goldens stay as they are: the
copy names the candidate, puts it at 50 % of customers, and sends simulated tickets through the
application's own production client (``triage.app.production_client``), the scripted models answering
with the prompt version the registry tunes for each (v2 keeps the candidate's JSON unfenced). Then
``llmversion rollout status`` compares the arms: too early at first (it says how many calls are
missing), then ADVANCE, and ``llmversion rollout advance`` moves the stage on.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICKETS = [
    "Hi, I was charged twice for order #A1234 this month. Please refund one of the payments.",
    "I can't log in. After I type the 2FA code the page just reloads and asks again.",
    "Would love a dark mode in the mobile app! My eyes at night would thank you.",
    "Export to PDF crashes every time with `TypeError: cannot read properties of undefined (reading 'pages')`.",
    "Where can I download last month's invoice with VAT for order B7781?",
]


def main(customers: int = 1200) -> int:
    from pytest_llmversion import cli

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "acme"
        shutil.copytree(HERE, project, ignore=shutil.ignore_patterns(".llmversion", "__pycache__"))
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text().replace(
            'model = "scripted/triage-2024-06"\n',
            'model = "scripted/triage-2024-06"\ncandidate_model = "scripted/triage-2024-11"\n',
        )
        # simulated traffic arrives in seconds: no 48 hours per stage, and every triage answer checked
        stage = "candidate_percent = 50\nmin_stage_hours = 0\nquality_sample = 1.0\n"
        text = text.replace("candidate_percent = 0\n", stage)
        pyproject.write_text(text)
        sys.path.insert(0, str(project))
        from triage.app import production_client, triage_ticket

        rng = random.Random(4)
        served = 0
        for batch in (1200, 1400):
            print(f"$ # {batch} more customers send a ticket each (candidate_percent = 50)")
            for n in range(served, served + batch):
                with contextlib.suppress(ValueError):  # an unusable answer: the app fails on this ticket
                    triage_ticket(rng.choice(TICKETS), production_client(f"customer-{n}", str(project)))
            served += batch
            print("$ llmversion rollout status")
            status = cli.main(["--root", str(project), "rollout", "status"])
            print()
        if status == 0:
            print("$ llmversion rollout advance")
            cli.main(["--root", str(project), "rollout", "advance"])
        print("\nHad status said ROLL BACK: llmversion rollout rollback --reason '...' sets candidate_percent = 0,")
        print("and every running process follows within reload_seconds, without a redeploy.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
