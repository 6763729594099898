"""The library optimiser: candidates → job queue → transcoder plugin → verify → safe replace →
savings. See :mod:`.manager`."""
