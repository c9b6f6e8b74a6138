"""The rule guard. Its hot modules may run compiled (see native.py): decided here, before any
of them is imported."""

from kefu.compliance.native import select_build

BUILD = select_build()
