"""What a finished run is turned into for other tools: the `export` group's formats and report.html."""
