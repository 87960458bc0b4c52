"""Front ends built on :func:`vidseg.pipeline.run` (conversion, previews, servers)."""
