"""The errors of the data key's layer (:mod:`p2p.keystore`): each says what happened and
what opens the profile."""

from __future__ import annotations

from kith.p2p.errors import EnvironmentProblem, UserError


class KeystoreError(EnvironmentProblem):
    """The data key cannot be read; ``str(e)`` says why and what to do."""


class KeyMissing(KeystoreError):
    """The profile has no data key (neither copy of the key file exists)."""


class KeyFileDamaged(KeystoreError):
    """Both copies of the key file are damaged."""


class WrongPassphrase(UserError):
    """The passphrase does not open the key; the UI asks again."""


class WrongRecoveryCode(UserError):
    """The recovery code does not open the key."""


class PassphraseRequired(UserError):
    """The key is wrapped by a passphrase and none was given."""


class KeyringProblem(KeystoreError):
    """The OS keyring cannot give the wrapping key; the passphrase or the recovery code
    still opens the profile."""


class KeyringUnavailable(KeyringProblem):
    """No usable keyring on this machine (a headless box, a locked or absent service)."""


class KeyringEntryMissing(KeyringProblem):
    """The keyring works but holds no entry for this profile (reset, another account)."""


class KeyringEntryChanged(KeyringProblem):
    """The keyring's entry for this profile no longer opens the key."""


_RECOVERY_HINT = "Open it with your recovery code; then choose how to protect it again."
