"""The database: declarative base, engine and session scope, migrations, guards."""
