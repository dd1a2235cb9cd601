"""Personalisation: from a person, the card's facts and four PINs, the complete `CardImage`.

What goes where follows docs/architecture.md ("What an image holds, per application") and
card-interface.md §6–§10; record layouts are in `card_files`, images in `card_face`,
certificates and record keys come from the test authority (`mynacard.ca`).

Keys generated for the card (RSA-2048, through the injectable `key_source`, in this order):
JPKI `auth`, JPKI `sign`, text `ap`, text `sm`, visual `card`, 共通AP `internal-auth`.

Secrets set on the card:
  jpki   auth-pin = auth PIN, sign-password = signing password
  text   pin = text-AP PIN, code-a = 照合番号A (the My Number), code-b = 照合番号B
  visual birth-key = era YYMMDD, code-b = 照合番号B, code-a = 照合番号A
  common pin, juki pin = the 住基/共通 PIN
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mynacard.applet_model.image import ApplicationImage, CardImage
from mynacard.applet_model.profiles import DEFAULT_PROFILE, Profile
from mynacard.applet_model.secrets import PinReference
from mynacard.ca import keys
from mynacard.ca.authority import Authority, load_test_authority
from mynacard.ca.cv import KeyId
from mynacard.ca.era import era_yymmdd
from mynacard.ca.jpki_ca import IssuedCertificate
from mynacard.ca.jpki_names import Locality
from mynacard.ca.keys import KeySource
from mynacard.ca.personal_data import PersonalData
from mynacard.register_stub import card_face, card_files
from mynacard.register_stub.person import CardDetails, CardPins, Person, verification_code_b

#: 16-byte key reference of 共通AP/住基AP EF 0002 (CI §9: content not understood on real cards).
#: Ours: a key-ID-shaped value in our hierarchy, the same on every card.
COMMON_KEY_REFERENCE = KeyId.make("9000040")


def card_key_id(card_serial: str) -> KeyId:
    """被証明者鍵ID of the card's 共通AP key in MF `7F21`: `9` + the serial's last six digits."""
    return KeyId.make("9" + card_serial[-6:])


def random_card_serial() -> str:
    """15 digits starting with 9 (a test card's serial is `400000012719843`, CI §9)."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(14))


@dataclass(frozen=True)
class PersonalisedCard:
    """The image plus what the issuer hands the holder (secrets) and keeps (certificates)."""

    image: CardImage
    person: Person
    details: CardDetails
    pins: CardPins
    card_serial: str
    sign_certificate: IssuedCertificate
    auth_certificate: IssuedCertificate

    @property
    def verification_code_b(self) -> str:
        return verification_code_b(self.person.birth_date, self.details.card_expiry, self.details.security_code)

    @property
    def birth_key(self) -> str:
        return era_yymmdd(self.person.birth_date)

    def __repr__(self) -> str:
        return f"PersonalisedCard(serial={self.card_serial}, …)"


def personalise(
    person: Person,
    details: CardDetails,
    pins: CardPins,
    *,
    authority: Authority | None = None,
    key_source: KeySource | None = None,
    profile: Profile = DEFAULT_PROFILE,
    issued_at: datetime | None = None,
) -> PersonalisedCard:
    """Build the whole card in memory; nothing is written. Inputs were validated on creation.

    `key_source` defaults to generating fresh RSA-2048 keys (`mynacard.ca.keys.generate_rsa_key`,
    looked up at call time so that tests can substitute a pool).
    """
    authority = authority or load_test_authority()
    key_source = key_source or keys.generate_rsa_key
    issued_at = (issued_at or datetime.now(UTC)).replace(microsecond=0)
    place = person.municipality
    serial = details.card_serial or random_card_serial()
    code_b = verification_code_b(person.birth_date, details.card_expiry, details.security_code)

    # Images first: they are the likeliest input to be refused (font, photo, text length).
    name_png = card_face.name_png(person.name)
    address_png = card_face.address_png(person.card_address)
    photo = card_face.photo_jp2(details.photo)
    security_png = card_face.security_code_png(details.security_code)
    my_number_png = card_face.my_number_png(person.my_number)

    auth_key, sign_key, text_ap_key, text_sm_key, visual_card_key, internal_auth_key = (
        key_source() for _ in range(6)
    )

    locality = Locality(place.prefecture_roman, place.city_roman)
    auth_cert = authority.auth_ca.issue(
        auth_key.public_key(), person.birth_date, locality, place.code, details.card_expiry, issued_at
    )
    sign_cert = authority.sign_ca.issue(
        sign_key.public_key(),
        PersonalData(person.name, person.sex, person.birth_date, person.card_address),
        locality,
        place.code,
        details.card_expiry,
        auth_cert.not_after,
        issued_at,
    )
    jpki = ApplicationImage(
        files={
            0x0001: sign_cert.der,
            0x0002: _der(authority.sign_ca.certificate),
            0x0006: card_files.token_info(serial),
            0x0008: card_files.CERTIFICATE_AVAILABILITY,
            0x000A: auth_cert.der,
            0x000B: _der(authority.auth_ca.certificate),
        },
        keys={"auth": auth_key, "sign": sign_key},
        pins={"auth-pin": PinReference.create(pins.auth_pin), "sign-password": PinReference.create(pins.sign_password)},
    )

    cv = authority.cv
    my_number_physical = card_files.my_number_file(person.my_number)
    attributes = card_files.attributes_file(person.name, person.card_address, person.birth_date, person.sex)
    text = ApplicationImage(
        files={
            0x0001: my_number_physical,
            0x0002: attributes,
            0x0003: card_files.integrity_record(my_number_physical, attributes, cv.text_records),
            0x0004: cv.text_certificate().encode(),
            0x0005: card_files.text_basic_info(cv.text_records.key_id, os.urandom(32)),
            0x0006: card_files.sm_public_key_file(text_sm_key.public_key()),
            0x0007: card_files.signed_public_key_file(text_ap_key.public_key(), cv.text_records),
            0x0008: card_files.TEXT_EF_0008,
        },
        keys={"ap": text_ap_key, "sm": text_sm_key},
        pins={
            "pin": PinReference.create(pins.text_pin),
            "code-a": PinReference.create(person.my_number),
            "code-b": PinReference.create(code_b),
        },
    )

    card_public = visual_card_key.public_key()
    visual = ApplicationImage(
        files={
            0x0001: card_files.age_record(person.birth_date, card_public, cv.visual_records),
            0x0002: card_files.card_face_file(
                birth_date=person.birth_date,
                sex=person.sex,
                card_public_key=card_public,
                name_png=name_png,
                address_png=address_png,
                photo_jp2=photo,
                card_expiry=details.card_expiry,
                security_code_png=security_png,
                record_key=cv.visual_records,
            ),
            0x0003: card_files.visual_basic_info(
                cv.visual_records.key_id, place.code, cv.visual_records.key_id, os.urandom(256)
            ),
            0x0004: cv.visual_certificate().encode(),
            0x0005: card_files.my_number_image_record(my_number_png, card_public, cv.visual_records),
        },
        keys={"card": visual_card_key},
        pins={
            "birth-key": PinReference.create(era_yymmdd(person.birth_date)),
            "code-b": PinReference.create(code_b),
            "code-a": PinReference.create(person.my_number),
        },
    )

    common = ApplicationImage(
        records={
            0x0001: [card_files.common_card_record(serial, place.code, details.card_expiry)],
            0x0002: [bytes(COMMON_KEY_REFERENCE)],
        },
        keys={"internal-auth": internal_auth_key},
        pins={"pin": PinReference.create(pins.juki_pin)},
    )
    juki = ApplicationImage(
        records={0x0002: [bytes(COMMON_KEY_REFERENCE)]},
        pins={"pin": PinReference.create(pins.juki_pin)},
    )

    lower = cv.mf_intermediate.certify(card_key_id(serial), internal_auth_key.public_key())
    image = CardImage(
        profile=profile,
        applications={"jpki": jpki, "text": text, "visual": visual, "common": common, "juki": juki},
        mf_objects=card_files.mf_objects(
            issuer_key_id=cv.mf_root.key_id,
            card_serial=serial,
            municipality_code=place.code,
            card_expiry=details.card_expiry,
            intermediate_key_id=cv.mf_intermediate.key_id,
            upper_certificate_contents=cv.mf_upper_certificate().contents(),
            lower_certificate_contents=lower.contents(),
        ),
        metadata={
            "made-by": "mynacard card new (register_stub.personalise)",
            "issued-at": issued_at.isoformat(),
            "holder": person.name,
            "card-serial": serial,
            "authority": "mynacard INSECURE test authority - not J-LIS",
            "sign-certificate-serial": f"{sign_cert.serial:X}",
            "auth-certificate-serial": f"{auth_cert.serial:X}",
        },
    )
    image.validate()
    return PersonalisedCard(image, person, details, pins, serial, sign_cert, auth_cert)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)
