"""The engine. Never imports Qt: usable from the CLI, the GUI and tests."""
