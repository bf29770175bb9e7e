"""The one error type services raise for bad input or a refused operation.

Views show ``message`` next to ``field`` (or at the top of the form); the API answers
``{"error": {"code": code, "message": message, "field": field}}`` with ``status``.
"""


class ReslibError(Exception):
    status = 400

    def __init__(self, message, *, code: str = "invalid", field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field
        if status is not None:
            self.status = status

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}
