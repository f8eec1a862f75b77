"""Sample data: a synthetic company with known latent truths, and the CDNOW dataset.

>>> from rapport.sample import generate, write
>>> company = generate(customers=2000, months=12, seed=7)
>>> write(company, "demo-data", format="csv")  # doctest: +SKIP
"""

from rapport.sample.cdnow import load_cdnow
from rapport.sample.company import ENTITIES, SCHEMAS, SampleCompany, write
from rapport.sample.generator import generate, generate_to_dir
from rapport.sample.params import ModelParams

__all__ = [
    "ENTITIES",
    "SCHEMAS",
    "ModelParams",
    "SampleCompany",
    "generate",
    "generate_to_dir",
    "load_cdnow",
    "write",
]
