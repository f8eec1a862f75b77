"""Probabilistic customer-lifetime-value models fitted by our own maximum likelihood."""
