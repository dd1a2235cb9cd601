"""The five APs of the My Number Card, each declared as data (CI §5–§9), and the MF (CI §4, §10)."""

from __future__ import annotations

from mynacard.applet_model.aps.common import COMMON
from mynacard.applet_model.aps.jpki import JPKI
from mynacard.applet_model.aps.juki import JUKI
from mynacard.applet_model.aps.text import TEXT
from mynacard.applet_model.aps.visual import VISUAL
from mynacard.applet_model.files import ApplicationDecl

#: Every AP, by the name the card image uses for it.
APPLICATIONS: dict[str, ApplicationDecl] = {ap.name: ap for ap in (JPKI, TEXT, VISUAL, COMMON, JUKI)}
