"""Errors a user can fix. The CLI prints their message on one line and exits non-zero."""


class RagError(Exception):
    """Bad input or a missing resource: the message names the problem and what to do."""


class EmptyQuestionError(RagError):
    pass


class IndexMissingError(RagError):
    pass


class ModelNotFoundError(RagError):
    pass
