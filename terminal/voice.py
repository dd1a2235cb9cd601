"""Voice prompts: espeak-ng to WAV (played when a player is configured) and a recording stand-in.

Prompts are fixed sentences chosen by key; none contains anything about the person, so the WAV
cache holds nothing personal. The left-behind reminders (card, document) repeat until the stop
button is pressed — the state machine decides when; this module only speaks.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PROMPTS: dict[str, dict[str, str]] = {
    "notice": {"ja": "証明書交付サービスです。画面の説明をお読みください。",
               "en": "Certificate issuance. Please read the notice on the screen."},
    "insert_card": {"ja": "マイナンバーカードを置いてください。",
                    "en": "Please place your My Number Card on the reader."},
    "enter_pin": {"ja": "利用者証明用の暗証番号、4桁を入力してください。",
                  "en": "Please enter your four digit PIN."},
    "pin_wrong": {"ja": "暗証番号が違います。", "en": "The PIN is wrong."},
    "last_try": {"ja": "あと1回間違えると、カードが使えなくなります。",
                 "en": "One try left. Another wrong PIN will lock the card."},
    "take_card": {"ja": "カードをお取りください。", "en": "Please take your card."},
    "choose_document": {"ja": "証明書を選んでください。", "en": "Please choose a certificate."},
    "confirm_fee": {"ja": "料金をご確認ください。", "en": "Please confirm the fee."},
    "insert_cash": {"ja": "料金を入れてください。", "en": "Please insert the fee."},
    "printing": {"ja": "印刷しています。しばらくお待ちください。",
                 "en": "Printing. Please wait."},
    "take_document": {"ja": "証明書をお取りください。", "en": "Please take your certificate."},
    "thank_you": {"ja": "ご利用ありがとうございました。", "en": "Thank you."},
    "go_to_window": {"ja": "市区町村の窓口でお手続きください。",
                     "en": "Please go to the municipal office window."},
    "ended": {"ja": "終了しました。", "en": "The session has ended."},
}


class Voice(Protocol):
    def speak(self, prompt: str, language: str) -> None: ...


@dataclass
class RecordingVoice:
    """Stand-in for kiosks without a speaker and for tests: remembers what would be said."""

    spoken: list[tuple[str, str]] = field(default_factory=list)

    def speak(self, prompt: str, language: str) -> None:
        self.spoken.append((prompt, language))


class EspeakVoice:
    """espeak-ng renders each prompt once to a WAV in `cache_dir`; `player` (e.g. ["aplay",
    "-q"]) plays it, in the background, so a slow speaker never holds up the kiosk."""

    def __init__(self, cache_dir: Path, player: list[str] | None = None) -> None:
        if shutil.which("espeak-ng") is None:
            raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
        self.cache_dir = cache_dir
        self.player = player
        self._lock = threading.Lock()

    def render(self, prompt: str, language: str) -> Path:
        text = PROMPTS[prompt][language]
        name = hashlib.sha256(f"{language}:{text}".encode()).hexdigest()[:16]
        target = self.cache_dir / f"{prompt}-{language}-{name}.wav"
        with self._lock:
            if not target.exists():
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".tmp")
                subprocess.run(["espeak-ng", "-v", language, "-w", str(partial), text],
                               check=True, capture_output=True, timeout=30)
                partial.replace(target)
        return target

    def speak(self, prompt: str, language: str) -> None:
        path = self.render(prompt, language)
        if self.player:
            subprocess.Popen([*self.player, str(path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)


class SilentVoice:
    """No speaker (the default of `mynacard kiosk`): prompts are shown on screen only."""

    def speak(self, prompt: str, language: str) -> None:
        if prompt not in PROMPTS:
            raise KeyError(f"unknown voice prompt {prompt!r}")
