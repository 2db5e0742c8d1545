"""A client's data at the end of its life: legal holds, erasure (on request, by retention), and leaving the
platform (docs/privacy.md)."""
