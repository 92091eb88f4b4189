"""Package discovery: the library ``alc_data``, the command line ``cli/`` installed as ``alc_data_cli``
and the built-in recipes ``recipes/`` installed as ``alc_data_recipes``.

(A top-level import package named ``cli`` would clash with other installed packages.)
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["alc_data", "alc_data.*"]) + ["alc_data_cli", "alc_data_recipes"],
    package_dir={"alc_data_cli": "cli", "alc_data_recipes": "recipes"},
    package_data={"alc_data": ["py.typed", "annotate/static/*"], "alc_data_recipes": ["*.toml"]},
)
