"""Data shipped with the automation app: the default reply-script library."""
