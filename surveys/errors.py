"""The errors a business rule raises; config/api.py turns each into its HTTP status and message."""


class DomainError(Exception):
    """A business rule said no. `config/api.py` turns these into 4xx answers."""

    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__doc__ or self.__class__.__name__)
        self.message = str(self.args[0])


class NotFound(DomainError):
    """Not found."""

    status_code = 404
