"""Live status: consumers in this process (hub), the one sender that brings them up to date (fanout), the
database watcher, and the rendering they share."""
