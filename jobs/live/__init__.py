"""Live status: consumers in this process (hub), the database watcher, and the rendering they share."""
