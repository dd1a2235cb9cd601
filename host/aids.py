"""Application identifiers of the My Number Card (CI §5) and the names the host uses for them."""

from __future__ import annotations

JPKI = bytes.fromhex("D392F000260100000001")  #: 公的個人認証AP
TEXT = bytes.fromhex("D3921000310001010408")  #: 券面事項入力補助AP (card-info input support)
VISUAL = bytes.fromhex("D3921000310001010402")  #: 券面事項確認AP (card face)
COMMON = bytes.fromhex("D3921000310001010100")  #: 共通AP
JUKI = bytes.fromhex("D3921000310001010401")  #: 住基AP

#: Short name -> AID, in the order `status` reports them.
APPLICATIONS: dict[str, bytes] = {
    "jpki": JPKI,
    "text": TEXT,
    "visual": VISUAL,
    "common": COMMON,
    "juki": JUKI,
}

#: Names a person recognises, for messages.
TITLES: dict[str, str] = {
    "jpki": "JPKI AP (公的個人認証AP)",
    "text": "card-info input support AP (券面事項入力補助AP)",
    "visual": "card-face AP (券面事項確認AP)",
    "common": "common AP (共通AP)",
    "juki": "resident-registry AP (住基AP)",
}
