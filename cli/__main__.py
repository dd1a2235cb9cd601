"""`python -m mynacard` runs the `mynacard` command."""

import sys

from mynacard.main import main

sys.exit(main())
