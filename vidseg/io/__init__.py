"""Frame sources and result sinks (the only modules that touch video I/O libraries)."""
