"""The error every bad input becomes."""


class ConfigError(ValueError):
    """A bad input file or override. ``str(err)`` is the one-line message users see."""
