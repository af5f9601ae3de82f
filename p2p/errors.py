"""Errors that say whose fault they are.

- :class:`LocalProtocolError`: we tried something the protocol does not allow (a bug here).
- :class:`RemoteProtocolError`: the peer sent something invalid; close that connection.
- :class:`EnvironmentProblem`: the machine or the user's files are in the way
  (permissions, a damaged file, a port in use). The message says what to do.
- :class:`UserError`: the request cannot be done as asked (unknown peer, bad number).
"""


class KithError(Exception):
    """Base of every error Kith raises on purpose; ``str(e)`` is meant for the user."""


class LocalProtocolError(KithError):
    pass


class RemoteProtocolError(KithError):
    pass


class EnvironmentProblem(KithError):
    pass


class UserError(KithError):
    pass
