"""API function: every HTTP route, served by Chalice (routes live in ``linkstar.api``)."""

from chalice import Chalice
from linkstar.api import register

app = Chalice(app_name="linkstar")
register(app)
