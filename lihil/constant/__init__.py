"""Where lihil keeps ``status`` too: ``from lihil.constant import status`` is ``lihil.status``."""

from .. import status as status
