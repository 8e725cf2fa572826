"""The `loader` group: find and read source files, then split them into chunks (one module per loader)."""
