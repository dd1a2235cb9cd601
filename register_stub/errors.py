"""The one exception type of card issuance: a `mynacard.errors.UserError`."""

from mynacard.errors import UserError


class IssuanceError(UserError, ValueError):
    """Input a card cannot be made from, with a sentence a person can act on.

    Messages name the field, never its value: PINs and My Numbers must not reach error output.
    """
