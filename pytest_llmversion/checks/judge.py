"""``judge``: an LLM grades an answer against a rubric; ``semantic_similarity``: cosine similarity of embeddings.

Both call a model through the item's seam (``calls.py``), so their calls are recorded, replayed, limited and
priced like the test's own. The judge is asked for a verdict as one JSON object, ``{"score": <0 to 1>,
"reason": "..."}``, at temperature 0, and its answer is read leniently (a fenced block, prose around the
object, ``score: 0.8`` in plain words) but never guessed: a score outside [0, 1] (a 0-10 scale, a
percentage) is not rescaled, and an answer with no score is a judge failure (ERROR), never a low score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pytest_llmversion.checks.calls import CheckCall, CheckCallError, ask, text_hash
from pytest_llmversion.checks.core import Check, CheckResult, as_text, short
from pytest_llmversion.parsing import extract_json
from pytest_llmversion.providers.base import Message, Request

#: What the judge is told; part of every judge request (so of its fingerprint): change it and goldens go STALE.
JUDGE_INSTRUCTIONS = (
    "You are a strict, impartial grader. Grade the answer against the rubric. Reply with one JSON object and "
    'nothing else: {"score": <a number from 0 to 1>, "reason": "<one sentence>"}. A score of 1 means the '
    "answer fully meets the rubric, 0 that it does not meet it at all."
)
JUDGE_MAX_TOKENS = 400
_SNIPPET = 80
_PROSE_SCORE = re.compile(
    r"\bscore\b[\"']?\s*[:=]\s*[\"']?(?P<value>-?\d+(?:\.\d+)?)(?P<scale>\s*(?:%|/\s*\d+))?", re.I
)
_PROSE_REASON = re.compile(r"\breason(?:ing)?\b[\"']?\s*[:=]\s*[\"']?(?P<text>[^\n\"']+)", re.I)


class JudgeVerdict:
    """What the judge said: its score in [0, 1] and its reason."""

    __slots__ = ("reason", "score")

    def __init__(self, score: float, reason: str) -> None:
        self.score = score
        self.reason = reason


def parse_verdict(text: str, model: str) -> JudgeVerdict:
    """The judge's verdict from its answer, or ``CheckCallError`` naming the judge and a snippet of the answer."""
    found = extract_json(text)
    if isinstance(found, list):
        found = next((item for item in found if isinstance(item, Mapping)), None)
    if isinstance(found, Mapping):
        fields = {str(key).lower(): value for key, value in found.items()}
        if "score" in fields:
            reason = next((fields[k] for k in ("reason", "reasoning", "explanation") if k in fields), "")
            return JudgeVerdict(_score(fields["score"], model, text), str(reason or "").strip())
    prose = _PROSE_SCORE.search(text)
    if prose is not None:
        if prose.group("scale"):
            raise _bad_scale(prose.group(0).strip(), model)
        reason = _PROSE_REASON.search(text)
        return JudgeVerdict(_score(prose.group("value"), model, text), reason.group("text").strip() if reason else "")
    raise CheckCallError(
        f"judge {model} gave no verdict (a JSON object with a score from 0 to 1 and a reason): {_snippet(text)}",
        model=model,
    )


def _score(raw: Any, model: str, text: str) -> float:
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.endswith("%") or "/" in stripped:
            raise _bad_scale(stripped, model)
        try:
            raw = float(stripped)
        except ValueError:
            raw = None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise CheckCallError(f"judge {model} gave a score that is not a number: {_snippet(text)}", model=model)
    if not 0.0 <= float(raw) <= 1.0:
        raise _bad_scale(f"{raw:g}", model)
    return float(raw)


def _bad_scale(given: str, model: str) -> CheckCallError:
    return CheckCallError(
        f"judge {model} scored {given!r}, outside [0, 1]; scores on other scales (0-10, percentages) are not "
        "rescaled: say in the rubric that the score runs from 0 to 1",
        model=model,
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…") if flat else "(an empty answer)"


def judge_request(rubric: str, answer: str) -> Request:
    """The request a judge is sent for one answer (temperature 0: a model that rejects it has it left out)."""
    prompt = f"Rubric:\n{rubric.strip()}\n\nAnswer to grade:\n<answer>\n{answer}\n</answer>"
    messages = (Message("system", JUDGE_INSTRUCTIONS), Message("user", prompt))
    return Request(messages, {"temperature": 0.0, "max_tokens": JUDGE_MAX_TOKENS})


class _Judge(Check):
    kind = "content"

    def __init__(self, rubric: str, model: str | None, threshold: float, name: str | None) -> None:
        if not rubric.strip():
            raise ValueError("checks.judge() needs a rubric: what a good answer does")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"judge threshold must be between 0 and 1, got {threshold}")
        self.rubric = rubric
        self.model = model
        self.threshold = threshold
        self.rubric_hash = text_hash(rubric)
        self.name = name or f"judge({short(' '.join(rubric.split()), 30)})"

    def evaluate(self, value: Any) -> CheckResult:
        request = judge_request(self.rubric, as_text(value))
        completion = ask(CheckCall("judge", self.name, self.model, request, self.rubric_hash))
        verdict = parse_verdict(completion.text, completion.model_requested)
        detail = f"judge {verdict.score:.2f} (threshold {self.threshold:g})" + (
            f": {short(verdict.reason, 160)}" if verdict.reason else ""
        )
        if verdict.score >= self.threshold:
            return self.ok(detail, verdict.score)
        return self.fail(detail, verdict.score)


def judge(rubric: str, *, model: str | None = None, threshold: float = 0.5, name: str | None = None) -> Check:
    """An LLM grades the output against ``rubric``; its score in [0, 1] is the check's score, passing at
    ``threshold``. ``model`` (``provider/model-id``, pinned) defaults to ``judge_model`` in ``[tool.llmversion]``.

    The judge's calls are recorded in the golden (``check_calls``) and replayed, so CI re-scores offline; the
    golden keeps the judge model and a hash of the rubric. A judge that fails or answers no verdict makes the
    item ERROR, never a low score.
    """
    return _Judge(rubric, model, threshold, name)


# -- semantic similarity ---------------------------------------------------------------------------------------


@runtime_checkable
class Embedder(Protocol):
    """A local embedder: texts in, one vector each out, in-process (nothing recorded: it is part of the code)."""

    name: str

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]: ...


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0 for a zero vector (nothing to compare)."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths ({len(a)} and {len(b)})")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class _SemanticSimilarity(Check):
    kind = "content"

    def __init__(self, expected: str, threshold: float, embedder: str | Embedder | None) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"semantic_similarity threshold must be between 0 and 1, got {threshold}")
        if embedder is not None and not isinstance(embedder, str | Embedder):
            raise TypeError(
                "semantic_similarity(embedder=...) takes 'provider/embedding-model' or an object with .name and "
                f".embed(texts), got {embedder!r}"
            )
        self.expected = expected
        self.threshold = threshold
        self.embedder = embedder
        self.name = f"semantic_similarity(>={threshold:g})"

    def evaluate(self, value: Any) -> CheckResult:
        texts = (self.expected, as_text(value))
        if isinstance(self.embedder, Embedder):
            vectors = [list(v) for v in self.embedder.embed(texts)]
            source = self.embedder.name
        else:
            request = Request((), {}, kind="embedding", model=self.embedder, inputs=texts)
            completion = ask(CheckCall("embedding", self.name, self.embedder, request))
            vectors = [list(v) for v in completion.embeddings]
            source = completion.model_requested
        if len(vectors) != 2:
            raise CheckCallError(f"embedder {source} returned {len(vectors)} vectors for 2 texts", model=source)
        similarity = max(0.0, cosine(vectors[0], vectors[1]))
        detail = f"cosine {similarity:.3f} (threshold {self.threshold:g}, {source})"
        return self.ok(detail, similarity) if similarity >= self.threshold else self.fail(detail, similarity)


def semantic_similarity(expected: str, *, threshold: float = 0.8, embedder: str | Embedder | None = None) -> Check:
    """Cosine similarity of the embeddings of ``expected`` and the output, as the score; passes at ``threshold``
    (a negative cosine scores 0).

    ``embedder`` is an embedding model (``openai/text-embedding-3-small``, ``gemini/text-embedding-004``),
    called through its provider's official SDK, recorded and replayed like the judge; by default
    ``embedding_model`` in ``[tool.llmversion]``. Or a local embedder object
    (``pytest_llmversion.embedders.LocalMiniLM()``, the ``local-embeddings`` extra), computed in-process.
    """
    return _SemanticSimilarity(expected, threshold, embedder)
