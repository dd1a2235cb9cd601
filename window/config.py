"""What one window process is started with (`mynacard window` options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mynacard.window.card_writer import CardWriter, VirtualReaderWriter

DEFAULT_REGISTER_URL = "http://127.0.0.1:8470/register"
DEFAULT_PORT = 8780
#: Short by default: a counter PC left alone must not stay logged in (minutes).
DEFAULT_SESSION_MINUTES = 10.0


@dataclass(frozen=True)
class WindowConfig:
    register_url: str = DEFAULT_REGISTER_URL
    #: The centre (CA service's OCSP lives at `ocsp_url`); None: derived from register_url's origin.
    centre_url: str | None = None
    ocsp_url: str | None = None
    #: PC/SC reader name; None: the first reader holding a My Number Card.
    reader: str | None = None
    #: A card image used in-process instead of a reader (like `mynacard card --card DIR`).
    card_dir: Path | None = None
    trust_test_authority: bool = False
    #: Where issued card images are written for the emulator's reader (screen 4); None: no encoder.
    encoder_dir: Path | None = None
    #: The control socket of the `mynacard emulate` serving the reader; None: the one running.
    encoder_control: Path | None = None
    session_minutes: float = DEFAULT_SESSION_MINUTES
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT

    @property
    def origin(self) -> str:
        """The services' origin (`http://host:port`) taken from the register URL."""
        scheme, _, rest = self.register_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    def card_writer(self) -> CardWriter | None:
        """The card encoder of screen 4: the emulator's reader when --encoder-dir is given."""
        if self.encoder_dir is None:
            return None
        return VirtualReaderWriter(self.encoder_dir, self.encoder_control, self.reader or 0)

    @property
    def resolved_ocsp_url(self) -> str:
        return self.ocsp_url or f"{self.origin}/ca/ocsp/auth"

    @property
    def resolved_centre_url(self) -> str:
        return self.centre_url or f"{self.origin}/centre"
