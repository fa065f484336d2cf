"""Running a project's build command: one run at a time per project, its output and its states as protocol events
(protocol.md, "Build runs and remote control")."""
