"""The web dashboard: static files served by the hub at ``/``. No build step."""
