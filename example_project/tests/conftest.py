import sys
from pathlib import Path

# The application lives beside the tests; make it importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
