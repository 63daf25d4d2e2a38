"""A development set of real speech (and, kept apart, synthetic questions) with references.

`build()` assembles it from installed and pinned packages; see sources.py for what is real
and splice.py for how conversations are made from it.
"""

from .build import DevClip, DevConversation, DevSet, build, default_root

__all__ = ["DevClip", "DevConversation", "DevSet", "build", "default_root"]
