"""The phases, one module each; `workflows.PHASE_BODIES` registers them by name."""
