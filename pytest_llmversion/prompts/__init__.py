"""The prompt registry: versioned prompts per task, and where the code uses them."""
