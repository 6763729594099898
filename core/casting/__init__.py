"""Casting: play library items on renderers found on the network (DLNA, Google Cast).
See :mod:`.types` for the renderer interface and :mod:`.manager` for ``hub.casting``."""
