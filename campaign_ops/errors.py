"""Errors that reach operators as one clear line (the CLI prints them without a traceback)."""


class CampaignOpsError(Exception):
    """A problem the user can act on: bad input, bad configuration, unreachable database."""


class ConfigError(CampaignOpsError):
    """Configuration (environment, run config, CLI options) is invalid."""


class DatabaseUnavailableError(CampaignOpsError):
    """The database server cannot be reached."""


class UnknownClientError(CampaignOpsError):
    """A client id that is not a uuid, does not exist or is inactive."""
