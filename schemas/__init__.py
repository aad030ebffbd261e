"""Marshmallow schemas: each register's field mapping between Severa and eEkonomi (R-5)."""
