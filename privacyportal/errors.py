"""One base for the errors the apps' services raise when they refuse a change.

Views, forms, the admin and the API catch ``ServiceError`` and show ``message`` (already
in the user's words); ``code`` says why to a machine (an API error code, a test); ``field``,
when set, names the input the refusal is about, so a form can show it beside that field.
"""


class ServiceError(Exception):
    default_code = "invalid"

    def __init__(self, message, code: str | None = None, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field
