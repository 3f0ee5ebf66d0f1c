"""The one error type users see for bad input."""


class EmotionError(ValueError):
    """Bad user input: names the bad value and what is accepted.

    The CLI prints the message and exits with status 2, without a traceback.
    """
