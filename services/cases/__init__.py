"""Cases (处置): an incident's disposal from its first warning to its closure, and the
warning-information form the office prints and stamps."""
