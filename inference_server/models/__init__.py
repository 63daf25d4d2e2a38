"""Model capabilities: one module each, a small abstract class plus one or more backends."""
