#!/usr/bin/env python
import os
import sys

import config

HELP_FLAGS = {"-h", "--help", "--version"}


def only_help(argv: list[str]) -> bool:
    """`manage.py`, `manage.py help ...` or any command with --help: nothing is read or changed."""
    return len(argv) < 2 or argv[1] == "help" or bool(HELP_FLAGS & set(argv[1:]))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Set in this process only, never from the environment: help works without the production
    # keys; every other command still needs them.
    config.HELP_ONLY = only_help(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
