"""One module per page of the creation UI; each has ``TITLE``, ``ICON`` and ``render()``."""
