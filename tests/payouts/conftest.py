"""The platform's default fee rules for every test here: the figures (a 10000 sale nets 8970) assume
them, and a transactional test elsewhere flushes the rows their migration made."""

from tests.orders.conftest import default_fees  # noqa: F401 - autouse
