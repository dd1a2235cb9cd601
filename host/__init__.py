"""Host middleware for the My Number Card: a typed API per AP over a Transport (pyscard for any
PC/SC reader, or the in-process emulator), card events, PIN safety, and the `mynacard card`
commands. It knows the card only through APDUs. docs/host.md is the guide.

    from mynacard.host.card import MyNumberCard
    with MyNumberCard.open("pcsc:") as card:     # the first reader holding a My Number Card
        der = card.jpki.auth_certificate()
"""
