"""lavr layer."""
