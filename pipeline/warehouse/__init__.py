"""The warehouse: migrations, the client factory, and the embedded chDB gateway."""
