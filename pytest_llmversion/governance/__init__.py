"""Model governance: the catalogue, pinning, deprecation, cost and the spending cap, the checklist."""
