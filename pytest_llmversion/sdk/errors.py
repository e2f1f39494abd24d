"""What the SDK fixtures' transport warns about or refuses; light, so a ``filterwarnings`` entry can name them."""

from __future__ import annotations

from pytest_llmversion.errors import LLMVersionError


class HardCodedModelWarning(UserWarning):
    """Application code named a model of its own instead of the configured one.

    Make it an error with ``filterwarnings = ["error::pytest_llmversion.sdk.HardCodedModelWarning"]``.
    """

    llmversion_call_error = True  # raised under -W error: the test should say this, not the SDK's wrapper


class UnrecordedCallWarning(UserWarning):
    """An SDK request the plugin cannot record went to the network as it was (``--llm-allow-passthrough``)."""

    llmversion_call_error = True


class CallRefused(LLMVersionError):
    """An SDK request the plugin cannot record, kept from the network; the item is ERROR with this line."""

    llmversion_call_error = True


class WrongProviderError(LLMVersionError):
    """A fixture's client was used for another provider's API."""

    llmversion_call_error = True
