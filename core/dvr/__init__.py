"""Live TV and DVR: tuners' lineups, the XMLTV guide, recording rules, the scheduler, the
recorder, commercial detection, post-processing and live TV sessions (``hub.dvr``)."""
