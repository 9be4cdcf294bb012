"""The desktop app: presentation and wiring only; all work is done by clipdesk.core."""
