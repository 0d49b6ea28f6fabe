# manage.py sets this when a command only prints its help (then the production keys may be absent).
HELP_ONLY = False
