"""User-facing errors. Each message says what was wrong and how to fix it; the CLI prints it as one line."""


class GenzooError(Exception):
    """Base class: the CLI prints the message alone (no traceback) and exits with status 2."""


class ConfigError(GenzooError):
    """A configuration key, value or preset is invalid."""


class DataError(GenzooError):
    """A dataset is unknown, missing, corrupt or fails its checksum."""


class ChecksumError(DataError):
    """A file's md5 differs from the published one."""


class CheckpointError(GenzooError):
    """A checkpoint is missing, truncated, not genzoo's, contains a pickle, or does not match the model."""


class Interrupted(GenzooError):
    """The user pressed Ctrl-C; the run was saved. The CLI prints the message calmly and exits 130."""


class StoppedTogether(Interrupted):
    """A stop signal took effect at the same step on every process of a run, which saved it together."""


class TrainingDiverged(GenzooError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
