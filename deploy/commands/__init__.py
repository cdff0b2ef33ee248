"""Pure builders: functions that return commands, never run them."""
