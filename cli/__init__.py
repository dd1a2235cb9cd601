"""mynacard: the Japanese My Number Card (個人番号カード) as a Python stack.

This folder is the root of the `mynacard` import namespace; every other top-level folder of the
repository is one of its subpackages (see DESIGN.md, "Layout").
"""

__version__ = "0.1.0"
