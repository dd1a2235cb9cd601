"""The one exception type of the ca package: a `mynacard.errors.UserError`."""

from mynacard.errors import UserError


class AuthorityError(UserError, ValueError):
    """A request the authority cannot honour, with a sentence a person can act on.

    Never carries secrets (PINs, My Numbers, keys): messages name the field, not its value.
    """
