"""Request and response bodies by role: ``XCreate``, ``XUpdate``, ``XPublic``, ``XsPublic``."""
