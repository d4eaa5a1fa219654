"""Writing and reading results: run folders, manifests, atomic writes."""
