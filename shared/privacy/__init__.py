"""Health data at rest (docs/privacy.md): the words people write are sealed with a per-client data key, the
data keys are wrapped by the deployment's key-encryption keys, and an erased client is shredded and skipped."""
